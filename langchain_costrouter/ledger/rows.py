"""`LedgerRow`: one provider attempt (or one cache hit), as the ledger stores it.

Rows are built from the ``response_metadata["costrouter"]`` record a routed answer
carries (every attempt, discarded ones too) or, by `CostCallbackHandler`, from any
chat model's usage. Money is `Decimal` here; the JSON record carries floats.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal


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
            object.__setattr__(self, "time", as_utc(self.time))


ROW_FIELDS = tuple(field.name for field in fields(LedgerRow))
"""`LedgerRow`'s fields in order: the order of `call_rows.record_values`' lists."""


def as_utc(when: datetime) -> datetime:
    """``when`` in UTC; a naive time is taken as UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
