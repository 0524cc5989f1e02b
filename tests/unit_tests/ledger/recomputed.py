"""A ledger summary recomputed straight from its rows, and rows that test every rule of it.

`recomputed` follows the rules `ledger/summary.py` states, call by call and row by row,
without `ledger/grouping.py` or SQL, so a store's summary can be checked against it to the
picodollar: a call is unpriced when one of its kept rows has no known cost (and no error),
or when none of its kept rows carries all five levers while one lacks a cost or a baseline;
cost, baseline and savings sum the priced calls' rows only. `varied_rows` are random calls
whose rows disagree in every way a ledger allows: a call's rows on several days, tasks,
namespaces and models, levers on some rows or partly known, errors with and without a
cost, rows from before the lever split.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from langchain_costrouter.ledger import LedgerRow, SummaryRow
from langchain_costrouter.ledger.dollars import to_picousd
from langchain_costrouter.ledger.summary import GroupBy, GroupTotals
from langchain_costrouter.metadata import LEVERS

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
TASKS = ("classify", "chat", "extract", None)
NAMESPACES = ("acme", "globex", None)
FILTERS: dict[str, dict[str, object]] = {
    "none": {},
    "since": {"since": START + timedelta(days=2)},
    "until": {"until": START + timedelta(days=3, hours=5)},
    "since and until": {"since": START + timedelta(days=1), "until": START + timedelta(days=3)},
    "task": {"task": "chat"},
    "namespace": {"namespace": "acme"},
    "purpose": {"purpose": "eval"},
    "task since": {"task": "classify", "since": START + timedelta(days=1, hours=12)},
    "namespace until": {"namespace": "globex", "until": START + timedelta(days=2, hours=20)},
    "no row": {"task": "chat", "until": START},
}
"""Filters to summarise with: each splits some calls, keeping a part of their rows (but
the last, which keeps none: an empty total knows no cost, never $0)."""


def varied_rows(calls: int = 160, seed: int = 7, *, whole: bool = False) -> list[LedgerRow]:
    """``calls`` random calls of one to four rows each, over five days.

    ``whole``: a call's rows share its time, task, namespace and purpose (as a routed
    call's do), so only by model do a call's rows fall in several groups.
    """
    draw = random.Random(seed)
    rows: list[LedgerRow] = []
    for call in range(calls):
        when = START + timedelta(hours=draw.randrange(5 * 24))  # rows on the filters' bounds
        task, namespace = draw.choice(TASKS), draw.choice(NAMESPACES)
        purpose = draw.choice(("production", "production", "eval", "shadow"))
        for attempt in range(draw.choice((1, 1, 2, 3, 4))):
            row = _row(draw, f"call-{call}", attempt, when, task, namespace)
            if whole:
                row = replace(row, time=when, task=task, namespace=namespace, purpose=purpose)
            rows.append(row)
    return rows


def _row(
    draw: random.Random, run_id: str, attempt: int, when: datetime, task: str | None, ns: str | None
) -> LedgerRow:
    def money(chance_of_none: float, low: int = 0) -> Decimal | None:
        if draw.random() < chance_of_none:
            return None
        return Decimal(draw.randrange(low, 9_000_000_000)) * Decimal("1e-12")

    levers = draw.choice(("all", "all", "none", "none", "part"))
    saved = {lever: money(0.0, -2_000_000_000) for lever in LEVERS}
    if levers == "none":
        saved = dict.fromkeys(LEVERS)
    elif levers == "part":
        saved[draw.choice(LEVERS)] = None
    return LedgerRow(
        time=when + timedelta(hours=draw.choice((0, 0, 0, 7, 30))),  # some rows a day later
        run_id=run_id,
        attempt=attempt,
        task=draw.choice(TASKS) if draw.random() < 0.15 else task,
        namespace=draw.choice(NAMESPACES) if draw.random() < 0.1 else ns,
        model=draw.choice(("gpt-4o-mini", "gpt-4o", "local")),
        role=draw.choice(("answer", "answer", "answer", "judge", "compressor")),
        input_tokens=draw.randrange(2000),
        cache_read_tokens=draw.randrange(500),
        cache_write_tokens=draw.randrange(100),
        output_tokens=draw.randrange(800),
        reasoning_tokens=draw.randrange(50),
        cost_usd=money(0.15),
        baseline_cost_usd=money(0.35),
        cache_hit=draw.random() < 0.15,
        escalated=draw.random() < 0.2,
        error=draw.choice((None, None, None, None, "APIStatusError")),
        compression_tokens_saved=draw.choice((0, 0, 0, 250)),
        compression_saved_usd=money(0.8),
        usage_estimated=draw.random() < 0.2,
        purpose=draw.choice(("production", "production", "eval", "shadow")),
        **{f"saved_{lever}_usd": value for lever, value in saved.items()},
    )


def recomputed(rows: Iterable[LedgerRow], by: GroupBy, **filters: object) -> dict[str, SummaryRow]:
    """Each group's summary row, by key, of the rows ``filters`` keep."""
    kept = [row for row in rows if _kept(row, filters)]
    unpriced = _unpriced_calls(kept)
    groups: dict[str, list[LedgerRow]] = defaultdict(list)
    if by == "all":
        groups["all"] = []
    for row in kept:
        groups[_key(row, by)].append(row)
    return {
        key: SummaryRow.from_totals(_totals(key, members, unpriced))
        for key, members in groups.items()
    }


def _kept(row: LedgerRow, filters: dict[str, object]) -> bool:
    since, until = filters.get("since"), filters.get("until")
    if isinstance(since, datetime) and row.time < since:
        return False
    if isinstance(until, datetime) and row.time >= until:
        return False
    return all(
        getattr(row, name) == filters[name]
        for name in ("task", "namespace", "purpose")
        if name in filters
    )


def _key(row: LedgerRow, by: GroupBy) -> str:
    if by == "day":
        return date.isoformat(row.time.date())
    if by == "task":
        return row.task or "(none)"
    return "all" if by == "all" else str(getattr(row, by))


def _all_levers(row: LedgerRow) -> bool:
    return None not in [getattr(row, f"saved_{lever}_usd") for lever in LEVERS]


def _unpriced_calls(kept: list[LedgerRow]) -> set[str]:
    by_call: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in kept:
        by_call[row.run_id].append(row)
    unpriced = set()
    for run_id, call in by_call.items():
        unknown_cost = any(r.error is None and r.cost_usd is None for r in call)
        lacking = any(
            r.error is None and (r.cost_usd is None or r.baseline_cost_usd is None) for r in call
        )
        if unknown_cost or (lacking and not any(_all_levers(r) for r in call)):
            unpriced.add(run_id)
    return unpriced


def _picos(values: Iterable[Decimal | None]) -> int | None:
    """The sum of the known values, None when none is known (never $0)."""
    known = [to_picousd(value) for value in values if value is not None]
    return sum(p for p in known if p is not None) if known else None


def _totals(key: str, rows: list[LedgerRow], unpriced: set[str]) -> GroupTotals:
    priced = [row for row in rows if row.run_id not in unpriced]
    left_out = [row for row in rows if row.run_id in unpriced]
    hits = [row for row in rows if row.cache_hit]
    totals = GroupTotals(
        key=key,
        calls=len({row.run_id for row in rows}),
        attempts=len(rows),
        input_tokens=sum(row.input_tokens for row in rows),
        cache_read_tokens=sum(row.cache_read_tokens for row in rows),
        cache_write_tokens=sum(row.cache_write_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        reasoning_tokens=sum(row.reasoning_tokens for row in rows),
        replayed_input_tokens=sum(row.input_tokens for row in hits),
        replayed_output_tokens=sum(row.output_tokens for row in hits),
        cost_picousd=_picos(row.cost_usd for row in priced),
        baseline_picousd=_picos(row.baseline_cost_usd for row in priced),
        cache_hit_calls=len({row.run_id for row in hits}),
        escalated_calls=len({row.run_id for row in rows if row.escalated}),
        errors=sum(row.error is not None for row in rows),
        unpriced=sum(row.cost_usd is None and row.error is None for row in rows),
        unpriced_calls=len({row.run_id for row in left_out}),
        unpriced_calls_known_cost_picousd=_picos(row.cost_usd for row in left_out),
        estimated=sum(row.usage_estimated for row in rows),
        compression_tokens_saved=sum(row.compression_tokens_saved for row in rows),
        compression_saved_picousd=_picos(row.compression_saved_usd for row in rows),
        compression_cost_picousd=_picos(row.cost_usd for row in rows if row.role == "compressor"),
    )
    for lever in LEVERS:
        saved = [getattr(row, f"saved_{lever}_usd") for row in priced if _all_levers(row)]
        setattr(totals, f"saved_{lever}_picousd", _picos(saved) or 0)
    totals.saved_routing_picousd += sum(_legacy_saving(row) for row in priced)
    return totals


def _legacy_saving(row: LedgerRow) -> int:
    """A row from before the lever split saves its baseline minus its cost, as routing."""
    cost, baseline = to_picousd(row.cost_usd), to_picousd(row.baseline_cost_usd)
    if _all_levers(row) or cost is None or baseline is None:
        return 0
    return baseline - cost
