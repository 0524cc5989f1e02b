"""What the batcher returns per item, and what one provider call cost.

A call's cost is split evenly over the items it carried, including calls whose
answer was rejected: those dollars were spent on the items that had to be re-sent,
so the per-item costs add up to what the provider billed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata

from langchain_costrouter.batching.items import Item
from langchain_costrouter.metadata import sum_costs

PriceFn = Callable[[str, UsageMetadata], "float | Decimal | None"]
"""Dollar cost of a call from the serving model's name and its usage; None if unknown."""


@dataclass(frozen=True)
class ItemResult:
    """The answer (or the error) for one input item.

    Attributes:
        index: position of the item in the input list.
        id: the id the item was sent under (``i<index>``).
        item: the input item as given.
        ok: whether ``value`` holds a validated answer.
        value: the label, pydantic object or text; None when not ok.
        error: why the item has no answer (it failed even when sent alone, or the
            provider failed); None when ok.
        cost_usd: this item's share of the calls it was in; None if any price was
            unknown, 0.0 for a cache hit.
        batch_size: how many items shared the call that produced the final answer or
            error (0 for a cache hit).
        calls: how many provider calls carried this item (re-sends included).
        cached: whether the answer came from the per-item cache.
    """

    index: int
    id: str
    item: Item
    ok: bool
    value: Any = None
    error: str | None = None
    cost_usd: float | None = 0.0
    batch_size: int = 0
    calls: int = 0
    cached: bool = False


@dataclass(frozen=True)
class CallOutcome:
    """A finished provider call: its message, or the provider error it raised."""

    message: BaseMessage | None = None
    error: Exception | None = None


def error_cost(error: Exception | None, price: PriceFn | None = None) -> float | None:
    """What a call that raised had spent: a router's error lists the call's attempts
    (its compressor's call included); an answer the client refused carries the billed
    completion's usage, priced as an answer is (unknown without a price, never $0); any
    other provider error bills nothing."""
    attempts = getattr(error, "attempts", None)
    if isinstance(attempts, list):
        return sum_costs([a.get("cost_usd") for a in attempts if isinstance(a, dict)])
    completion = getattr(error, "completion", None)
    usage = getattr(completion, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    output = getattr(usage, "completion_tokens", None)
    if type(prompt) is not int or type(output) is not int:
        return 0.0
    if price is None:
        return None
    tokens = UsageMetadata(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output)
    priced = price(str(getattr(completion, "model", "")), tokens)
    return None if priced is None else float(priced)


def call_cost(message: BaseMessage, price: PriceFn | None) -> float | None:
    """The call's dollars: the router's figure when present, else usage x price.

    Without a router record, a usage block and a price function, the cost is unknown
    (None), never $0.
    """
    record = message.response_metadata.get("costrouter")
    if isinstance(record, dict) and "cost_usd" in record:
        cost = record["cost_usd"]
        return None if cost is None else float(cost)
    usage = getattr(message, "usage_metadata", None)
    if price is None or usage is None:
        return None
    priced = price(str(message.response_metadata.get("model_name", "")), usage)
    return None if priced is None else float(priced)
