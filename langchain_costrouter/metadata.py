"""The record a routed answer carries in ``response_metadata["costrouter"]``.

It is the contract between the request path and everything that audits it: the
ledger, `CostCallbackHandler`, `costrouter report` and the calibration replay all
read these dicts, so they are plain JSON (floats for dollars, ``None`` when a price
is unknown), never objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, TypedDict

LEVERS = ("routing", "cascade", "cache", "compression", "batching")
"""The levers a saving is split by, in the order reports show them."""

PriceSource = Literal["provider", "price_map", "override", "unknown", "estimated"]
CallStatus = Literal["ok", "failed", "cancelled", "cut"]
Purpose = Literal["production", "eval", "shadow"]
PURPOSES: tuple[Purpose, ...] = ("production", "eval", "shadow")

PURPOSE_KEY = "costrouter_purpose"
"""Run metadata naming why a call is made: production traffic, an eval run, a shadow sample."""
ITEM_PROMPT_TOKENS_KEY = "costrouter_item_prompt_tokens"
"""Run metadata of a batch call: the prompt tokens of the per-item calls it replaces
(0 for items sent again, whose per-item calls the batch that first carried them replaced)."""
BEST_EFFORT_REASON = "best effort: no tier passed its check"
"""The reason of the attempt whose answer was returned when no tier passed (not accepted)."""


class AttemptRecord(TypedDict, total=False):
    """One provider attempt (or one cache hit) of a routed call."""

    model: str  # the deployment's name (a config file's [models.NAME]), as routes call it
    request_model: str  # the model id sent to the provider (gen_ai.request.model)
    response_model: str  # the model the provider said answered (its response's model name)
    provider: str  # the provider (config name, or the child's class) that served it
    tier: int  # index of the tier in the route, 0 = cheapest
    usage: dict[str, Any]  # langchain-core UsageMetadata of this attempt
    cost_usd: float | None  # None when the price is unknown
    baseline_cost_usd: float | None  # the same tokens on the reference model
    price_source: PriceSource
    accepted: bool  # whether this attempt's answer was returned as accepted
    reason: str  # why it was accepted, escalated, skipped or failed
    score: float | None  # quality check score, when a check ran
    error: str | None  # exception type name when the attempt failed
    status_code: int | None  # the provider's HTTP status, when its error carried one
    latency_ms: float
    usage_estimated: bool  # usage counted with tiktoken, the provider gave none
    role: str  # "answer" (default), "judge", "compressor"
    check_reason: str  # what the quality check said about the answer
    avoided_cost_usd: float | None  # on a cache hit: what the original answer cost
    output_cap_exceeded: bool  # more output tokens than the call's cap (a server ignored it)
    downgraded_by: str  # the budget that sent the call to a cheaper deployment


class CostRouterMetadata(TypedDict, total=False):
    """What ``response_metadata["costrouter"]`` holds (docs/architecture.md 2.1)."""

    record_version: int  # 2: one baseline per call and savings by lever
    task: str
    namespace: str
    status: CallStatus  # how the call ended
    purpose: Purpose  # production traffic, an eval run (collect) or a shadow sample
    policy: str | None  # the calibrated policy the route followed, when there is one
    cache_hit: bool
    attempts: list[AttemptRecord]
    cost_usd: float | None  # all attempts; None if any price is unknown
    baseline_cost_usd: float | None  # the call on the reference model, uncompressed, unbatched
    savings_usd: dict[str, float | None]  # baseline - cost by lever; sums exactly
    escalated: bool  # this call tried a tier above the first (never on a cache hit)
    accepted: bool
    served_by: str
    compression_tokens_saved: int
    compression_saved_usd: float | None  # those tokens on the serving model; None if unpriced
    batch_size: int
    item_prompt_tokens: int  # a batch: the per-item calls' prompt tokens it replaced (0: re-sent)
    run_id: str  # the id the ledger rows carry, so a handler on the same ledger skips them
    reference_model: str | None  # the model baseline_cost_usd is priced on


MAX_CALL_USD = 1e6
"""No routed call costs a million dollars: a larger amount in a stored record is not ours."""


def stored_record_problem(record: object) -> str | None:
    """What makes a record read back from a cache entry unusable; None when it is sound.

    A shared cache is untrusted input, and a hit's ledger row is made from the record
    its entry carries (the avoided cost, the baseline, the levers, the serving tier).
    A record of the wrong shape or with impossible amounts makes the entry corrupt (a
    warned miss), never a crash or a figure in the ledger. No record is fine: such an
    entry (written by another tool) is priced anew when it is served.
    """
    if record is None:
        return None
    if type(record) is not dict:
        return "the record is not an object"
    get = record.get
    if not _amounts((get("cost_usd"), get("baseline_cost_usd")), 0.0):
        return "cost_usd or baseline_cost_usd is not an amount of dollars"
    levers = get("savings_usd")
    if levers is not None and not (
        type(levers) is dict and _amounts(levers.values(), -MAX_CALL_USD)
    ):
        return "savings_usd is not a mapping of dollar amounts"
    attempts = get("attempts", [])
    if type(attempts) is not list or not all(map(_is_attempt, attempts)):
        return "attempts is not a list of attempt records"
    if type(get("record_version", 0)) is not int:
        return "record_version is not a number"
    return None


def _amounts(values: Iterable[object], lowest: float) -> bool:
    """Each is None (unknown) or a number of dollars in range (NaN fails the comparison).

    Types by identity: JSON gives floats and ints, and a bool is neither here. One list
    comprehension, not a call per value: every cache hit checks its record.
    """
    wrong = [
        value
        for value in values
        if value is not None and not (type(value) in _NUMBERS and lowest <= value <= MAX_CALL_USD)  # type: ignore[operator]
    ]
    return not wrong


_NUMBERS = (float, int)


def _is_attempt(attempt: object) -> bool:
    """An attempt record as far as a hit reads it: whether it was accepted, and its tier."""
    if not isinstance(attempt, dict):
        return False
    tier = attempt.get("tier", 0)
    return type(attempt.get("accepted", False)) is bool and type(tier) is int and tier >= 0


def sum_costs(values: list[float | None]) -> float | None:
    """Add dollar amounts exactly; one unknown amount makes the total unknown (never $0).

    Floats added as floats drift (0.1 + 0.2 is 0.30000000000000004): a record would show
    a total the ledger, which adds exact picodollars, never does. Each amount is added
    as the decimal it prints as.
    """
    if len(values) == 1:  # most calls: one attempt
        return values[0]
    if any(value is None for value in values):
        return None
    return float(sum((Decimal(repr(value)) for value in values), Decimal(0)))


class CallSink(Protocol):
    """Where the router hands each call's record: a `Ledger`, the telemetry's wrapper
    around one, or `NoLedger`."""

    def add_call(
        self,
        meta: CostRouterMetadata,
        *,
        run_id: str,
        when: datetime,
        reference_model: str | None = None,
    ) -> None: ...
