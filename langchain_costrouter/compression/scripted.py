"""A scripted compressor model, for tests and benchmarks that must run offline.

`ScriptedCompressorModel` answers every request with ``rewrite(text)`` of the prose it was
sent and reports tiktoken usage like a provider would. `keep_leading_sentences` is a crude,
deterministic stand-in for a summarising model: it keeps the first sentences of each
paragraph up to a share of its words, and every sentence holding a placeholder or a
code-like name (a rule naming a tool is kept, as the names check demands). Figures
measured with it show the mechanics (masking, verification, memo, accounting), not the
quality a real model would reach.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from langchain_costrouter.compression.masking import code_names
from langchain_costrouter.tokens import count_messages, count_text

_PLACEHOLDER = re.compile(r"\[\[[A-Z]+_\d+\]\]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


class ScriptedCompressorModel(BaseChatModel):
    """Answers with ``rewrite`` applied to the last message's text; records each request."""

    rewrite: Callable[[str], str]
    model_name: str = "scripted-compressor"
    requests: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-compressor"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prose = messages[-1].text
        self.requests.append(prose)
        answer = self.rewrite(prose)
        usage = UsageMetadata(
            input_tokens=count_messages(messages),
            output_tokens=count_text(answer),
            total_tokens=count_messages(messages) + count_text(answer),
        )
        message = AIMessage(
            answer, usage_metadata=usage, response_metadata={"model_name": self.model_name}
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def keep_leading_sentences(ratio: float) -> Callable[[str], str]:
    """A rewrite keeping about ``ratio`` of each paragraph's words, placeholders and
    code-like names always."""

    def rewrite(text: str) -> str:
        return "\n\n".join(_shorten_paragraph(p, ratio) for p in text.split("\n\n"))

    return rewrite


def _shorten_paragraph(paragraph: str, ratio: float) -> str:
    if paragraph.lstrip().startswith("#"):
        return paragraph
    sentences = _SENTENCE_BREAK.split(paragraph.strip())
    budget = math.ceil(ratio * len(paragraph.split()))
    kept: list[str] = []
    for sentence in sentences:
        if _PLACEHOLDER.search(sentence) or code_names(sentence) or budget > 0:
            kept.append(sentence)
            budget -= len(sentence.split())
    return " ".join(kept)
