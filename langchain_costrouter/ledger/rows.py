"""`LedgerRow`: one provider attempt (or one cache hit), as the ledger stores it.

Rows are built from the ``response_metadata["costrouter"]`` record a routed answer
carries (every attempt, discarded ones too) or, by `CostCallbackHandler`, from any
chat model's usage. Money is `Decimal` here; the JSON record carries floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from langchain_costrouter.ledger.dollars import usd
from langchain_costrouter.metadata import LEVERS, AttemptRecord, CostRouterMetadata
from langchain_costrouter.pricing.usage import token_counts


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One provider attempt or cache hit (docs/architecture.md 2.2).

    ``(run_id, attempt)`` identifies a row: recording the same call twice (the
    router's own ledger and a handler on the same database) stores it once.

    Attributes:
        time: When the call ended, in UTC (a naive time is taken as UTC, another zone's
            converted).
        run_id: The LangChain run id of the call; all attempts of a call share it.
        attempt: Index of the attempt within the call, 0 first.
        task: The task label, or None when there was none.
        model: The deployment that was asked, by its name (a config file's
            ``[models.NAME]`` entry, else the chat model's id).
        namespace: The tenant or namespace the call was made for.
        provider: The provider that served (or failed) the attempt.
        tier: The attempt's tier in its route (0 = cheapest); None outside routing.
        role: ``"answer"``, ``"judge"`` or ``"compressor"``.
        input_tokens: All prompt tokens, cached ones included.
        cache_read_tokens: Prompt tokens read from the provider's prompt cache.
        cache_write_tokens: Prompt tokens written to it (any time to live).
        output_tokens: All completion tokens, reasoning included.
        reasoning_tokens: Hidden reasoning tokens (a part of ``output_tokens``).
        cost_usd: Dollars spent, None when unknown (unknown price or an error).
        price_source: ``"provider"``, ``"price_map"``, ``"override"`` or ``"unknown"``.
        baseline_cost_usd: The same tokens on the reference model.
        reference_model: The model ``baseline_cost_usd`` was priced on.
        cache_hit: Answered from the cache: $0 spent, the baseline is the saving.
        accepted: Whether this attempt's answer was returned.
        escalated: Whether the call escalated past its first tier.
        reason: Why the attempt was accepted, escalated, skipped or failed.
        error: The exception type name when the attempt failed.
        latency_ms: Wall time of the attempt.
        compression_tokens_saved: Prompt tokens removed by compression (first row only).
        compression_saved_usd: What those tokens would have cost on the serving model
            (first row only); None when nothing was saved or the price is unknown.
        batch_size: Items packed into this call by batching (1 when not batched).
        usage_estimated: Token counts are a tiktoken estimate; the provider gave none.
        output_cap_exceeded: More output tokens than the call's cap: the server ignored
            the cap, so a budget must not trust caps on that deployment.
        purpose: ``production``, ``eval`` (``costrouter collect``) or ``shadow`` (shadow
            evaluation), so eval and shadow spend is kept apart from production savings.
        status_code: The provider's HTTP status of a failed attempt, when it gave one.
        saved_routing_usd .. saved_batching_usd: The call's saving split by lever
            (docs/architecture.md, "Savings by lever"), on one row of the call only, the
            row that also carries the call's one baseline: ``baseline - cost`` of the
            whole call equals their sum exactly. None on the call's other rows.
        request_model: The model id sent to the provider (``gen_ai.request.model``);
            None when nothing was sent (a skipped tier) or it is unknown. A cache hit
            keeps the one of the answer it replays.
        response_model: The model the provider said answered (its response's model
            name, e.g. ``gpt-4o-mini-2024-07-18``: what was billed); None when it said
            nothing (a refused call). A cache hit keeps the one of the answer it replays.
    """

    time: datetime
    run_id: str
    model: str
    attempt: int = 0
    task: str | None = None
    namespace: str | None = None
    provider: str | None = None
    tier: int | None = None
    role: str = "answer"
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: Decimal | None = None
    price_source: str = "unknown"
    baseline_cost_usd: Decimal | None = None
    reference_model: str | None = None
    cache_hit: bool = False
    accepted: bool = True
    escalated: bool = False
    reason: str | None = None
    error: str | None = None
    latency_ms: float | None = None
    compression_tokens_saved: int = 0
    compression_saved_usd: Decimal | None = None
    batch_size: int = 1
    usage_estimated: bool = False
    output_cap_exceeded: bool = False
    purpose: str = "production"
    status_code: int | None = None
    saved_routing_usd: Decimal | None = None
    saved_cascade_usd: Decimal | None = None
    saved_cache_usd: Decimal | None = None
    saved_compression_usd: Decimal | None = None
    saved_batching_usd: Decimal | None = None
    request_model: str | None = None
    response_model: str | None = None

    def __post_init__(self) -> None:
        """``time`` in UTC (naive means UTC), so every store puts a row on the same day:
        the memory ledger groups by the row's own date, SQL stores naive UTC."""
        if self.time.tzinfo is not UTC:
            object.__setattr__(self, "time", _utc(self.time))


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

ROW_FIELDS = tuple(field.name for field in fields(LedgerRow))
"""`LedgerRow`'s fields in order: the order of `record_values`' lists."""
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
        time=_utc(when),
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


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


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
