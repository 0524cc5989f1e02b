"""What a call would have cost without this package, and which lever saved the difference.

The baseline is one figure per call, never per attempt: the reference model priced on
the call's uncompressed prompt and the served answer's output tokens. The difference
to what the call cost splits exactly into five levers (docs/architecture.md, "Savings
by lever")::

    baseline - cost = routing + cascade + cache + compression + batching

    routing      reference model        -> the route's strongest tier (same tokens)
    cascade      strongest tier         -> the model that served, minus every other
                                           attempt (negative when escalating cost more)
    compression  serving model, prompt as given -> as sent, minus the compressor's calls
    cache        a hit: the original call's cost (its other levers are the original's)
    batching     the per-item calls a batch replaced -> the batch call

Amounts are added in integer picodollars, the ledger's unit, so the five levers in a
record add up to its baseline minus its cost to the last picodollar (and to the cent
in any report). A price that is unknown makes a lever's boundary fall back to its
neighbour (the saving is attributed one lever up), never $0; an unknown cost or
baseline leaves the levers unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from langchain_costrouter.ledger.dollars import picousd_float, to_picousd, to_stored_money
from langchain_costrouter.metadata import LEVERS, AttemptRecord
from langchain_costrouter.pricing import TokenCounts, token_counts
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.routes import Deployment

RECORD_VERSION = 2
"""Records with one baseline per call and `savings_usd`; 1 had a baseline per attempt."""
Savings = dict[str, float | None]


def answered(
    accountant: Accountant,
    attempts: list[AttemptRecord],
    served: AttemptRecord,
    served_by: Deployment,
    strongest: Deployment,
    extra: dict[str, Any],
) -> tuple[float | None, Savings]:
    """Baseline and levers of a call the cascade answered (compressed, batched or not)."""
    actual = _pico_usd(served.get("cost_usd"))
    cost: int | None
    compressor: int | None
    if len(attempts) == 1 and attempts[0] is served:  # most calls: one attempt, served
        cost, compressor = actual, 0
    else:
        cost = _picos(a.get("cost_usd") for a in attempts)
        compressor = _picos(a.get("cost_usd") for a in attempts if a.get("role") == "compressor")
    if extra.get("compression_tokens_saved"):
        baseline = _pico(accountant.model_cost(accountant.reference_model, _counts(served, extra)))
    else:  # the served attempt's own baseline: the reference model on the same tokens
        baseline = _pico_usd(served.get("baseline_cost_usd"))
    if cost is None or baseline is None:
        return _dollars(baseline), dict.fromkeys(LEVERS)
    compressor = compressor or 0
    other = cost - (actual or 0) - compressor
    serving = _serving_cost(accountant, served_by, served, extra, actual, compressor)
    strongest_cost = (
        serving
        if strongest is served_by
        else _pico(accountant.deployment_cost(strongest, _counts(served, extra)))
    )
    if strongest_cost is None:  # unpriced: the cascade's share is counted as routing's
        strongest_cost = serving
    levers = {
        "routing": baseline - strongest_cost,
        "cascade": strongest_cost - serving - other,
        "cache": 0,
        "compression": serving - (actual or 0) - compressor,
        "batching": 0,
    }
    items = extra.get("item_prompt_tokens")
    if isinstance(items, int) and items >= 0:  # the per-item calls this batch replaced
        per_item = _replaced_calls(accountant, served, extra, items)
        if per_item is not None:
            levers["batching"], baseline = per_item - baseline, per_item
    return _dollars(baseline), {lever: _dollars(value) for lever, value in levers.items()}


def cache_hit(original: dict[str, Any]) -> tuple[float | None, Savings]:
    """A hit costs nothing: the original call's cost is the cache's saving."""
    baseline = _pico_usd(original.get("baseline_cost_usd"))
    cost = _pico_usd(original.get("cost_usd"))
    kept = original.get("savings_usd") or {}
    if baseline is None or cost is None or original.get("record_version") != RECORD_VERSION:
        # An entry from an older version, or from another tool: all of it is the cache's.
        levers: dict[str, int | None] = dict.fromkeys(LEVERS, 0)
        levers["routing"] = None if baseline is None or cost is None else baseline - cost
        levers["cache"] = cost
        return _dollars(baseline), {lever: _dollars(value) for lever, value in levers.items()}
    savings = {lever: _as_recorded(kept.get(lever)) for lever in LEVERS}
    savings["cache"] = _dollars(cost)
    return _dollars(baseline), savings


def unanswered(attempts: list[AttemptRecord]) -> tuple[float | None, Savings]:
    """A call that ended with no answer: nothing to compare with, all of its spend wasted."""
    cost = _picos(a.get("cost_usd") for a in attempts)
    levers: dict[str, int | None] = dict.fromkeys(LEVERS, 0)
    levers["cascade"] = None if cost is None else -cost
    return 0.0, {lever: _dollars(value) for lever, value in levers.items()}


def _serving_cost(
    accountant: Accountant,
    served_by: Deployment,
    served: AttemptRecord,
    extra: dict[str, Any],
    actual: int | None,
    compressor: int,
) -> int:
    """The serving model on the uncompressed prompt (what it cost, when nothing was cut)."""
    if not extra.get("compression_tokens_saved") and actual is not None:
        return actual
    priced = _pico(accountant.deployment_cost(served_by, _counts(served, extra)))
    return priced if priced is not None else (actual or 0) + compressor


def _counts(served: AttemptRecord, extra: dict[str, Any]) -> TokenCounts:
    """The served answer's tokens with its prompt as the caller gave it (uncompressed).

    Read only where a lever needs a price other than the served attempt's own: most calls
    (one tier, nothing compressed or batched) never count tokens here.
    """
    counts = token_counts(served.get("usage"))
    if saved := extra.get("compression_tokens_saved"):
        counts = counts._replace(input=counts.input + saved)
    return counts


def _replaced_calls(
    accountant: Accountant, served: AttemptRecord, extra: dict[str, Any], items: int
) -> int | None:
    """The per-item calls a batch replaced on the reference model; 0 for items sent
    again, whose calls the batch that first carried them already counted.

    Priced as one call of every item's tokens, plus the reference's request fee (if it
    has one) for each other item: each per-item call would have paid it.
    """
    if items == 0:
        return 0
    reference = accountant.reference_model
    replaced = _pico(accountant.model_cost(reference, _items(_counts(served, extra), items)))
    calls = extra.get("batch_size")
    if replaced is None or not isinstance(calls, int) or calls <= 1:
        return replaced
    fee = _pico(accountant.model_cost(reference, TokenCounts()))
    return None if fee is None else replaced + (calls - 1) * fee


def _items(counts: TokenCounts, item_prompt_tokens: int) -> TokenCounts:
    """One call per item: every item's own prompt, and together the batch's answers."""
    return TokenCounts(input=item_prompt_tokens, output=counts.output, reasoning=counts.reasoning)


def _pico(value: Decimal | None) -> int | None:
    return to_picousd(value)


def _pico_usd(value: float | None) -> int | None:
    return to_stored_money(value)


def _picos(values: Iterable[float | None]) -> int | None:
    total = 0
    for value in values:
        pico = _pico_usd(value)
        if pico is None:
            return None
        total += pico
    return total


def _as_recorded(value: float | None) -> float | None:
    """``_dollars(_pico_usd(value))`` in one pass: a figure this package recorded (whole
    picodollars) comes back as it is, anything else is rounded to the picodollar."""
    if type(value) is float and -1e3 < value < 1e3 and round(value * 1e12) / 1e12 == value:
        return value
    return _dollars(_pico_usd(value))


def _dollars(picos: int | None) -> float | None:
    """Picodollars as the record's float dollars (read back exactly by `usd`)."""
    return picousd_float(picos)
