"""ChatOpenAI for OpenAI-compatible servers that read the output cap from ``max_tokens``.

langchain-openai sends a call's ``max_tokens`` as ``max_completion_tokens`` (OpenAI
deprecated the old name in 2024). Servers such as llama.cpp's ignore that field and
answer at any length: 855 tokens came back for a cap of 12, and a budget that trusts
the cap overruns. A provider with ``output_cap_field = "max_tokens"`` gets this
subclass, which renames the field back on the wire and changes nothing else.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_openai import ChatOpenAI

_CURRENT = "max_completion_tokens"
_LEGACY = "max_tokens"


class MaxTokensChatOpenAI(ChatOpenAI):
    """A `ChatOpenAI` that sends the output cap as ``max_tokens``."""

    def _get_request_payload(
        self,
        input_: LanguageModelInput,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        if _CURRENT in payload:
            payload[_LEGACY] = payload.pop(_CURRENT)
        return payload


def chat_openai_class(output_cap_field: str) -> type[ChatOpenAI]:
    """The ChatOpenAI class that sends the output cap in ``output_cap_field``."""
    return MaxTokensChatOpenAI if output_cap_field == _LEGACY else ChatOpenAI
