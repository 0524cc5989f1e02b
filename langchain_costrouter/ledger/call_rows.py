"""A routed call's record as ledger rows: one per attempt, or one for a cache hit.

The router's ``response_metadata["costrouter"]`` record (every attempt, discarded ones
too) becomes `LedgerRow`s here, or, for a SQL store, only their column values
(`record_values`). `PendingCall` defers that work off the caller's path: stores queue
it and build its rows when they read or write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_costrouter.ledger.dollars import usd
from langchain_costrouter.ledger.rows import ROW_FIELDS, LedgerRow, as_utc
from langchain_costrouter.metadata import LEVERS, AttemptRecord, CostRouterMetadata
from langchain_costrouter.pricing.usage import token_counts


def rows_from_costrouter(
    meta: CostRouterMetadata,
    *,
    run_id: str,
    when: datetime,
    reference_model: str | None = None,
) -> list[LedgerRow]:
    """One row per attempt of a routed call's record (discarded attempts too).

    The call's one baseline and its savings by lever go on one row only (the served
    answer's, else the first), never per attempt, so an escalated call is not
    compared with its reference twice. A cache hit is one row with ``cache_hit``
    set, $0 spent and the original call's baseline; a record with a hit and no
    attempts gets that row made up from the record's own figures.
    """
    rows = record_values(meta, run_id=run_id, when=when, reference_model=reference_model, money=usd)
    return [LedgerRow(*values) for values in rows]


Money = Callable[[Any], Any]
"""How a row writes dollars: `dollars.usd` (a `LedgerRow`'s Decimal) or
`dollars.to_stored_money` (integer picodollars, as databases store them)."""

_AT = {name: position for position, name in enumerate(ROW_FIELDS)}
_BASELINE_AT = _AT["baseline_cost_usd"]
_SAVED_AT = tuple((lever, _AT[f"saved_{lever}_usd"]) for lever in LEVERS)
_COMPRESSION_AT = _AT["compression_tokens_saved"]
_COMPRESSION_USD_AT = _AT["compression_saved_usd"]


def record_values(
    meta: CostRouterMetadata,
    *,
    run_id: str,
    when: datetime,
    reference_model: str | None,
    money: Money,
) -> list[list[Any]]:
    """The values of `rows_from_costrouter`'s rows in field order, dollars by ``money``.

    Lists, not dicts by name: the SQL ledger's writer takes these straight to column
    values (`queries.call_values`) for every routed call, and building a dict of 36
    fields per row, then merging it over the defaults, was most of its time per call.
    `tests/unit_tests/ledger/test_rows.py` checks every field lands where it belongs.
    """
    attempts = meta.get("attempts") or ()
    if not attempts and meta.get("cache_hit"):
        attempts = [_cache_hit_attempt(meta)]
    call = _Call(
        time=as_utc(when),
        run_id=run_id,
        task=meta.get("task"),
        namespace=meta.get("namespace"),
        reference_model=reference_model,
        cache_hit=bool(meta.get("cache_hit")),
        escalated=bool(meta.get("escalated")),
        purpose=meta.get("purpose") or "production",
        batch_size=meta.get("batch_size") or 1,
    )
    rows = [_attempt_values(index, attempt, call, money) for index, attempt in enumerate(attempts)]
    if rows:  # the call's money on one row, compression's on the first
        served = rows[_call_row_index(attempts)]
        served[_BASELINE_AT] = money(meta.get("baseline_cost_usd"))
        levers = meta.get("savings_usd") or {}
        for lever, position in _SAVED_AT:
            served[position] = money(levers.get(lever))
        if saved := meta.get("compression_tokens_saved") or 0:
            rows[0][_COMPRESSION_AT] = saved
            rows[0][_COMPRESSION_USD_AT] = money(meta.get("compression_saved_usd"))
    return rows


def _call_row_index(attempts: Sequence[AttemptRecord]) -> int:
    """The served answer's row (the last accepted answer), else the first row."""
    for index in range(len(attempts) - 1, -1, -1):
        attempt = attempts[index]
        if attempt.get("accepted") and (attempt.get("role") or "answer") == "answer":
            return index
    return 0


@dataclass(slots=True)
class _Call:
    """What every row of one call shares."""

    time: datetime
    run_id: str
    task: str | None
    namespace: str | None
    reference_model: str | None
    cache_hit: bool
    escalated: bool
    batch_size: int
    purpose: str


def _attempt_values(index: int, attempt: AttemptRecord, call: _Call, money: Money) -> list[Any]:
    """One attempt's row in `ROW_FIELDS` order; the call's money and compression fields
    are left at their defaults (`record_values` fills them on the rows that carry them)."""
    tokens = token_counts(attempt.get("usage"))
    get = attempt.get
    return [
        call.time,  # time
        call.run_id,  # run_id
        get("model") or "unknown",  # model
        index,  # attempt
        call.task,  # task
        call.namespace,  # namespace
        get("provider"),  # provider
        get("tier"),  # tier
        get("role") or "answer",  # role
        tokens.input,  # input_tokens
        tokens.cache_read,  # cache_read_tokens
        tokens.cache_write_total,  # cache_write_tokens
        tokens.output,  # output_tokens
        tokens.reasoning,  # reasoning_tokens
        money(get("cost_usd")),  # cost_usd
        get("price_source") or "unknown",  # price_source
        None,  # baseline_cost_usd
        call.reference_model,  # reference_model
        call.cache_hit,  # cache_hit
        bool(get("accepted", False)),  # accepted
        call.escalated,  # escalated
        get("reason"),  # reason
        get("error"),  # error
        get("latency_ms"),  # latency_ms
        0,  # compression_tokens_saved
        None,  # compression_saved_usd
        call.batch_size,  # batch_size
        bool(get("usage_estimated", False)),  # usage_estimated
        bool(get("output_cap_exceeded", False)),  # output_cap_exceeded
        call.purpose,  # purpose
        get("status_code"),  # status_code
        None,  # saved_routing_usd
        None,  # saved_cascade_usd
        None,  # saved_cache_usd
        None,  # saved_compression_usd
        None,  # saved_batching_usd
        get("request_model"),  # request_model
        get("response_model"),  # response_model
    ]


def _cache_hit_attempt(meta: CostRouterMetadata) -> AttemptRecord:
    return {
        "model": meta.get("served_by") or "unknown",
        "cost_usd": 0.0,
        "price_source": "price_map",
        "accepted": True,
        "reason": "cache hit",
    }


@dataclass(frozen=True, slots=True)
class PendingCall:
    """A routed call whose rows are built later, off the caller's path.

    Building a call's rows costs as much as a tenth of a routed in-process call, so
    stores queue this and build its rows when they read, or, writing to SQL, only its
    column values (`values`). The record is read at that time: it is the router's own
    dict, not changed after the call.
    """

    meta: CostRouterMetadata
    run_id: str
    when: datetime
    reference_model: str | None

    def rows(self) -> list[LedgerRow]:
        return rows_from_costrouter(
            self.meta, run_id=self.run_id, when=self.when, reference_model=self.reference_model
        )

    def values(self, money: Money) -> list[list[Any]]:
        """Its rows' values in field order, dollars written by ``money`` (`record_values`)."""
        return record_values(
            self.meta,
            run_id=self.run_id,
            when=self.when,
            reference_model=self.reference_model,
            money=money,
        )


def expand(items: Iterable[LedgerRow | PendingCall]) -> list[LedgerRow]:
    """Rows, with every pending call expanded into its rows, in order."""
    rows: list[LedgerRow] = []
    for item in items:
        if isinstance(item, PendingCall):
            rows.extend(item.rows())
        else:
            rows.append(item)
    return rows
