"""Pack items into batches under a token budget and a maximum count.

Two limits, because they guard different things: the token budget keeps a prompt
(and the answer it asks for) well inside the context window, and the count keeps the
answer short enough that a weak model does not lose track of ids. Packing is greedy
in input order, so neighbouring items share a batch and the plan is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_costrouter.batching.items import BatchItem


def pack(items: Sequence[BatchItem], *, max_tokens: int, max_items: int) -> list[list[BatchItem]]:
    """Split ``items`` into consecutive batches that respect both limits.

    An item larger than ``max_tokens`` on its own gets a batch of its own rather than
    being dropped: the model may still handle it, and if not it ends as an error.

    Args:
        items: the items to pack, in the order they should be sent.
        max_tokens: budget for the items' prompt entries in one batch.
        max_items: most items in one batch.

    Returns:
        Non-empty batches whose concatenation is ``items``.
    """
    if max_tokens < 1 or max_items < 1:
        raise ValueError(f"max_tokens and max_items must be >= 1, got {max_tokens}, {max_items}")
    batches: list[list[BatchItem]] = []
    current: list[BatchItem] = []
    used = 0
    for item in items:
        if current and (used + item.tokens > max_tokens or len(current) >= max_items):
            batches.append(current)
            current, used = [], 0
        current.append(item)
        used += item.tokens
    if current:
        batches.append(current)
    return batches
