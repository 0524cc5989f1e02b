"""What the batcher binds on the model for every call, and what that costs each call.

JSON mode is bound for OpenAI-client models; whatever is bound (JSON mode, a caller's
``bind(response_format=...)``) is sent beside the messages of every call, and providers
bill it as input. The per-item calls a batch replaces would each have sent it, so the
batching baseline counts it once per item (`prompt.per_item_prompt_tokens`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableBinding

from langchain_costrouter._lazy import class_if_imported
from langchain_costrouter.tokens import count_prompt_kwargs

ChatRunnable = Runnable[LanguageModelInput, BaseMessage]


def with_json_mode(model: ChatRunnable, json_mode: bool | None) -> ChatRunnable:
    """Bind OpenAI's JSON mode when asked, or by default for OpenAI-client models.

    Other models (and routers whose children may not all have JSON mode) get the
    instruction only; the parser copes with fences and prose around the JSON.
    """
    use = _is_openai_client(model) if json_mode is None else json_mode
    return model.bind(response_format={"type": "json_object"}) if use else model


def _is_openai_client(model: ChatRunnable) -> bool:
    openai_model = class_if_imported("langchain_openai.chat_models.base", "BaseChatOpenAI")
    return openai_model is not None and isinstance(model, openai_model)


def bound_kwargs(model: Runnable[Any, Any]) -> dict[str, Any]:
    """The call kwargs bound on ``model`` through any nesting of bindings, the
    outermost winning as it does when the call is made."""
    found: dict[str, Any] = {}
    while isinstance(model, RunnableBinding):
        found = {**model.kwargs, **found}
        model = model.bound
    return found


def call_tokens(model: Runnable[Any, Any]) -> int:
    """Input tokens every call to ``model`` sends beside its messages (its bound tools
    and response format, counted as `tokens.count_prompt_kwargs` counts them)."""
    return count_prompt_kwargs(bound_kwargs(model))
