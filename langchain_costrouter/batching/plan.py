"""The batching state machine: which items are settled and what to send next.

It is pure (no I/O): a driver sends the batches it hands out, feeds each finished call
back through `BatchPlan.settle`, and sends the follow-up batches that returns. The same
plan therefore serves the thread-pool driver and the asyncio driver. Items that fail
in a batch of n are re-packed into batches of at most n // 2; an item that fails in a
batch of one gets an error result. Every input item ends with exactly one result.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelError,
    ModelInvalidRequestError,
    ModelRefusalError,
)

from langchain_costrouter._lazy import class_if_imported
from langchain_costrouter._provider_replies import failed_reply
from langchain_costrouter.batching.items import BatchItem, Item
from langchain_costrouter.batching.packing import pack
from langchain_costrouter.batching.parse import parse_answer
from langchain_costrouter.batching.results import (
    CallOutcome,
    ItemResult,
    PriceFn,
    call_cost,
    error_cost,
)
from langchain_costrouter.batching.schema import ItemSchema
from langchain_costrouter.errors import AllTiersFailedError, CostRouterError, ProviderError
from langchain_costrouter.metadata import sum_costs


def provider_failed(error: Exception) -> bool:
    """Whether ``error`` is a provider call failing, which becomes per-item errors instead
    of crashing the run (anything else is a bug, and propagates).

    Besides the types of `_provider_errors`: a 200 carrying an error object or no
    choices, which ChatOpenAI raises as a plain ValueError, KeyError or TypeError
    (`_provider_replies`), and an answer the openai client refused (`refused_answer`).
    """
    return isinstance(error, _provider_errors()) or failed_reply(error) or refused_answer(error)


def refused_answer(error: BaseException) -> bool:
    """An answer the provider gave, and billed, that the openai client refused to parse
    under a response format (JSON mode): cut at the output cap, or by a content filter.

    The SDK raises them as ``OpenAIError``, not ``APIError``; a smaller batch cures both
    (a shorter answer, the filtered item alone), as an overflow is cured.
    """
    refusals = (
        class_if_imported("openai", "LengthFinishReasonError"),
        class_if_imported("openai", "ContentFilterFinishReasonError"),
    )
    return any(cls is not None and isinstance(error, cls) for cls in refusals)


def _provider_errors() -> tuple[type[Exception], ...]:
    """LangChain's and the router's errors, a body that is not JSON (ChatOpenAI raises
    JSONDecodeError), transport errors, and openai's and httpx's own errors once they
    are imported (langchain-openai imports them); before that no call can raise them.
    """
    sdk = (class_if_imported("openai", "APIError"), class_if_imported("httpx", "TransportError"))
    loaded = tuple(cls for cls in sdk if cls is not None and issubclass(cls, Exception))
    return (
        ModelError,
        CostRouterError,
        json.JSONDecodeError,
        ConnectionError,
        TimeoutError,
        *loaded,
    )


# Errors a smaller batch can cure: the prompt was too long, or one item made the
# provider refuse or reject the request. Rate limits and outages are not cured by
# halving, so they end the batch's items at once instead of multiplying calls.
_ITEM_SPECIFIC_ERRORS = (ContextOverflowError, ModelRefusalError, ModelInvalidRequestError)
_OVERFLOW_REASON = "error: context_overflow"


def item_specific(error: Exception) -> bool:
    """Whether a smaller batch may cure ``error``, also when a router reported it.

    A router raises a `ProviderError` caused by the provider's refusal or rejection (or
    the client's, `refused_answer`), and an `AllTiersFailedError` when every tier
    overflowed (each attempt's reason says so).
    """
    if isinstance(error, _ITEM_SPECIFIC_ERRORS) or refused_answer(error):
        return True
    if isinstance(error, ProviderError):
        cause = error.__cause__
        return isinstance(cause, _ITEM_SPECIFIC_ERRORS) or (
            cause is not None and refused_answer(cause)
        )
    if isinstance(error, AllTiersFailedError):
        return any(attempt.get("reason") == _OVERFLOW_REASON for attempt in error.attempts)
    return False


@dataclass(frozen=True)
class Batch:
    """Items sent together in one provider call.

    ``counted``: the items were in an earlier call that answered, whose record already
    compares them with their per-item calls (the batching baseline), so this call
    replaces none; a call that raised has no baseline, and its items stay uncounted.
    """

    items: tuple[BatchItem, ...]
    counted: bool = False

    @property
    def ids(self) -> list[str]:
        """The ids the answer must contain."""
        return [item.id for item in self.items]


class BatchPlan:
    """Tracks every item from first packing to its single result."""

    def __init__(
        self,
        inputs: Sequence[Item],
        schema: ItemSchema,
        *,
        max_tokens: int,
        max_items: int,
        price: PriceFn | None = None,
        on_accept: Callable[[BatchItem, Any], None] | None = None,
        on_settled: Callable[[int], object] | None = None,
    ) -> None:
        self._inputs = inputs
        self._schema = schema
        self._max_tokens = max_tokens
        self._max_items = max_items
        self._price = price
        self._on_accept = on_accept
        self._on_settled = on_settled
        self._results: dict[int, ItemResult] = {}
        self._shares: dict[int, list[float | None]] = defaultdict(list)

    def add_cached(self, item: BatchItem, value: Any) -> None:
        """Settle an item from the cache: no call, no cost."""
        self._finish(item, ok=True, value=value, batch_size=0, cached=True)

    def start(self, items: Sequence[BatchItem]) -> list[Batch]:
        """The first batches for the items that still need an answer."""
        return self._pack(items, self._max_items)

    def settle(self, batch: Batch, outcome: CallOutcome) -> list[Batch]:
        """Record one finished call; return the batches that must be sent next."""
        self._charge(batch, outcome)
        if outcome.error is not None:
            return self._settle_error(batch, outcome.error)
        text = "" if outcome.message is None else str(outcome.message.text)
        verdict = parse_answer(text, batch.ids, self._schema)
        for item in batch.items:
            if item.id in verdict.values:
                self._accept(item, verdict.values[item.id], len(batch.items))
        return self._retry(batch, verdict.failures, counted=True)

    def results(self) -> list[ItemResult]:
        """One result per input item, in input order."""
        missing = [i for i in range(len(self._inputs)) if i not in self._results]
        if missing:
            raise RuntimeError(f"items {missing} were never settled: the driver stopped early")
        return [self._results[i] for i in range(len(self._inputs))]

    def _settle_error(self, batch: Batch, error: Exception) -> list[Batch]:
        reason = f"provider error {type(error).__name__}: {error}"
        if item_specific(error):
            return self._retry(batch, dict.fromkeys(batch.ids, reason), counted=batch.counted)
        for item in batch.items:
            self._finish(item, ok=False, error=reason, batch_size=len(batch.items))
        return []

    def _retry(self, batch: Batch, failures: dict[str, str], *, counted: bool) -> list[Batch]:
        failed = [item for item in batch.items if item.id in failures]
        if len(batch.items) == 1:
            for item in failed:
                reason = f"failed even when sent alone: {failures[item.id]}"
                self._finish(item, ok=False, error=reason, batch_size=1)
            return []
        return self._pack(failed, max(1, len(batch.items) // 2), counted=counted)

    def _pack(
        self, items: Sequence[BatchItem], max_items: int, *, counted: bool = False
    ) -> list[Batch]:
        chunks = pack(items, max_tokens=self._max_tokens, max_items=max_items)
        return [Batch(tuple(chunk), counted) for chunk in chunks]

    def _charge(self, batch: Batch, outcome: CallOutcome) -> None:
        if outcome.message is not None:
            cost = call_cost(outcome.message, self._price)
        else:
            cost = error_cost(outcome.error, self._price)
        share = None if cost is None else cost / len(batch.items)
        for item in batch.items:
            self._shares[item.index].append(share)

    def _accept(self, item: BatchItem, value: Any, batch_size: int) -> None:
        self._finish(item, ok=True, value=value, batch_size=batch_size)
        if self._on_accept is not None:
            self._on_accept(item, value)

    def _finish(self, item: BatchItem, *, ok: bool, batch_size: int, **fields: Any) -> None:
        shares = self._shares.get(item.index, [])
        self._results[item.index] = ItemResult(
            index=item.index,
            id=item.id,
            item=self._inputs[item.index],
            ok=ok,
            cost_usd=sum_costs(shares),
            batch_size=batch_size,
            calls=len(shares),
            **fields,
        )
        if self._on_settled is not None:
            self._on_settled(1)
