"""Which messages of a chat request may be compressed, and how their text is swapped.

Only instructions and the current turn are compressible: system messages and the human
messages after the last AI message. Earlier human/AI pairs are the conversation or few-shot
example pairs, and the model imitates them, so they pass untouched; so do AI, tool and
function messages, and any message named ``example_*`` (OpenAI's few-shot convention).
In list content only ``text`` blocks are rewritten; their other keys (``cache_control``)
and all other blocks (images, files) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)

from langchain_costrouter.errors import InvalidRequestError


def compressible_indices(messages: Sequence[BaseMessage]) -> list[int]:
    """Positions of the messages whose text may be compressed."""
    last_ai = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
    return [
        index
        for index, message in enumerate(messages)
        if not (message.name or "").startswith("example")
        and (
            isinstance(message, SystemMessage)
            or (isinstance(message, HumanMessage) and index > last_ai)
        )
    ]


def is_cached_prefix(messages: Sequence[BaseMessage], index: int) -> bool:
    """Whether the message belongs to the leading run of system messages.

    That run is what providers cache across requests, so the prefix-cache rule applies.
    """
    return all(isinstance(message, SystemMessage) for message in messages[: index + 1])


def message_texts(message: BaseMessage) -> list[str]:
    """The rewritable texts of a message, in order."""
    if isinstance(message.content, str):
        return [message.content]
    return [
        block["text"] for block in message.content if isinstance(block, dict) and _is_text(block)
    ]


def with_texts(message: BaseMessage, texts: Sequence[str]) -> BaseMessage:
    """A copy of ``message`` whose texts (as listed by `message_texts`) are replaced."""
    if isinstance(message.content, str):
        return message.model_copy(update={"content": texts[0]})
    replacements = iter(texts)
    content = [
        {**block, "text": next(replacements)}
        if isinstance(block, dict) and _is_text(block)
        else block
        for block in message.content
    ]
    return message.model_copy(update={"content": content})


def check_encodable(text: str, where: str) -> None:
    """Refuse a lone surrogate in a text to compress, naming ``where`` it is and the fix.

    No provider takes one (the router refuses it too), and its memo key cannot be hashed:
    the compressor failed with a bare UnicodeEncodeError, deterministic strategy alone too.
    """
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            f"{where} has a lone surrogate {text[error.start]!r} at character {error.start}, "
            "which no provider accepts. Fix how the text was decoded (e.g. "
            "bytes.decode('utf-8', errors='replace')) before compressing it."
        ) from None


_EXPECTED = "a string, a PromptValue, or a list of messages (or (role, text) pairs)"


def as_messages(value: Any) -> list[BaseMessage]:
    """A list of messages from the input, or an `InvalidRequestError` naming what is wrong.

    A dict is refused whole: LangChain's conversion iterates it, so a chain's variables
    (``{"question": ...}``) would become one human message per key, each a key's name.
    """
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise InvalidRequestError(
            f"cannot compress {value!r:.60} ({type(value).__name__}); pass {_EXPECTED}. "
            "In a chain, put a prompt template before the compressor."
        )
    messages = []
    for index, item in enumerate(value):
        try:
            messages += convert_to_messages([item])
        except (NotImplementedError, ValueError) as error:
            raise InvalidRequestError(
                f"message {index} is not a message: {item!r:.60} ({type(item).__name__}); "
                f"pass {_EXPECTED}"
            ) from error
    return messages


def _is_text(block: dict[Any, Any]) -> bool:
    return block.get("type") == "text" and isinstance(block.get("text"), str)
