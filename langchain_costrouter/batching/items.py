"""Items as the batcher sees them: a stable id, the payload, and its size in tokens.

The id is derived from the item's position in the input list (``i0``, ``i1``, ...), so
it never depends on the item's text and stays the same through every re-send; two equal
items in the input are still two items with two ids and two results.

An item no provider can take (not text or a mapping, a value JSON cannot hold, a lone
surrogate) is refused here, naming the item, before any batch is paid for: sent, it
would fail every item of its batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from langchain_costrouter.errors import InvalidRequestError

Item: TypeAlias = str | Mapping[str, Any]


@dataclass(frozen=True)
class BatchItem:
    """One input item, ready to be packed into a prompt."""

    index: int  # position in the input list; results come back in this order
    id: str  # the key the model answers under
    payload: str | dict[str, Any]  # what the model reads: the text, or the item's fields
    tokens: int  # tokens its prompt entry costs


_ITEM_ID = re.compile(r"i\d+")


def item_id(index: int) -> str:
    """Short ids keep the per-item overhead of a batch to a couple of tokens."""
    return f"i{index}"


def is_item_id(key: str) -> bool:
    """Whether an answer's key is shaped like an item id (another key is only a note)."""
    return _ITEM_ID.fullmatch(key) is not None


def entry(id_: str, payload: str | dict[str, Any]) -> dict[str, Any]:
    """The object an item becomes inside the prompt's JSON array."""
    return {"id": id_, "item": payload}


def entry_json(id_: str, payload: str | dict[str, Any]) -> str:
    """Serialise one entry; non-ASCII stays readable (and cheaper in tokens)."""
    return json.dumps(entry(id_, payload), ensure_ascii=False)


def as_payload(index: int, item: Item) -> str | dict[str, Any]:
    """Keep text as text; copy a mapping so the caller's object is never shared."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        return dict(item)
    raise TypeError(f"item {index} must be a str or a mapping, got {type(item).__name__}")


def checked_entry_json(index: int, id_: str, payload: str | dict[str, Any]) -> str:
    """`entry_json`, or an error naming the item when no provider could be sent it."""
    try:
        text = entry_json(id_, payload)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"item {index} is not JSON ({error}): convert its values to str, numbers, "
            "bools, None, lists or mappings with str keys before batching"
        ) from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            f"item {index} has a lone surrogate {text[error.start]!r}, which no provider "
            "accepts. Fix how the text was decoded (e.g. bytes.decode('utf-8', "
            "errors='replace')) before batching it."
        ) from None
    return text


def canonical_text(payload: str | dict[str, Any]) -> str:
    """One spelling per item content, for cache keys (mapping order does not matter).

    Keys are sorted as the model reads them, as JSON's text: a mapping may mix key types
    (``{1: ..., "lang": ...}``), which Python cannot sort but JSON writes as text.
    """
    if isinstance(payload, str):
        return payload
    as_sent = json.loads(json.dumps(payload, ensure_ascii=False))
    return json.dumps(as_sent, ensure_ascii=False, sort_keys=True)


def to_batch_items(items: Sequence[Item], count_tokens: Callable[[str], int]) -> list[BatchItem]:
    """Give every input item its id and token size, in input order."""
    batch_items = []
    for index, item in enumerate(items):
        payload = as_payload(index, item)
        id_ = item_id(index)
        tokens = count_tokens(checked_entry_json(index, id_, payload))
        batch_items.append(BatchItem(index, id_, payload, tokens))
    return batch_items
