"""The in-memory ledger's aggregation: rows to `GroupTotals`, as the SQL ledgers' query does.

Which calls a summary can price is decided per call, not per row (`unpriced_run_ids`),
because a routed call's saving sits on one of its rows while the cost it is measured
against is spread over all of them: an escalation from a priced tier to an unpriced one
leaves a priced row whose call still cost an unknown amount. `summary_sql.summary_query`
applies the same rule in SQL; `tests/unit_tests/ledger/test_unpriced_calls.py` checks
the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from langchain_costrouter.ledger.dollars import to_picousd
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.summary import (
    NO_TASK,
    GroupBy,
    GroupTotals,
    RowFilter,
    Summary,
    summary_of,
)
from langchain_costrouter.metadata import LEVERS

_LEVER_FIELDS = tuple(f"saved_{lever}_usd" for lever in LEVERS)


def summarise_rows(rows: Iterable[LedgerRow], by: GroupBy, where: RowFilter) -> Summary:
    """Aggregate rows in Python, the way the SQL ledgers aggregate in the database."""
    kept = [row for row in rows if where.matches(row)]
    unpriced = unpriced_run_ids(kept)
    groups: dict[str, _Group] = {}
    if by == "all":
        groups["all"] = _Group(GroupTotals("all"))
    for row in kept:
        key = _group_key(row, by)
        groups.setdefault(key, _Group(GroupTotals(key))).add(row, priced=row.run_id not in unpriced)
    return summary_of((group.totals() for group in groups.values()), by)


def unpriced_run_ids(rows: Iterable[LedgerRow]) -> set[str]:
    """The calls whose cost or saving is unknown: left out of cost, baseline and savings.

    A call is unpriced when a row of it has no known cost (a failed attempt, with an
    error, records none and is not unknown), or when no row of it carries the five
    levers and one of its rows lacks a cost or a baseline. Rows written before the
    lever split carry a baseline per attempt: such a call is priced when every row is.
    """
    unknown: set[str] = set()
    lacking: set[str] = set()
    with_levers: set[str] = set()
    for row in rows:
        if carries_levers(row):
            with_levers.add(row.run_id)
        if row.error is None and row.cost_usd is None:
            unknown.add(row.run_id)
        if row.error is None and (row.cost_usd is None or row.baseline_cost_usd is None):
            lacking.add(row.run_id)
    return unknown | (lacking - with_levers)


def carries_levers(row: LedgerRow) -> bool:
    """Whether the row holds its call's saving split by lever, every lever known."""
    return all(getattr(row, name) is not None for name in _LEVER_FIELDS)


def _group_key(row: LedgerRow, by: GroupBy) -> str:
    if by == "task":
        return row.task if row.task is not None else NO_TASK
    if by == "model":
        return row.model
    if by == "day":
        return row.time.date().isoformat()
    if by == "purpose":
        return row.purpose
    return "all"


@dataclass
class _Group:
    sums: GroupTotals
    run_ids: set[str] = field(default_factory=set)
    cache_hit_run_ids: set[str] = field(default_factory=set)
    escalated_run_ids: set[str] = field(default_factory=set)
    unpriced_run_ids: set[str] = field(default_factory=set)

    def add(self, row: LedgerRow, *, priced: bool) -> None:
        sums = self.sums
        sums.attempts += 1
        sums.input_tokens += row.input_tokens
        sums.cache_read_tokens += row.cache_read_tokens
        sums.cache_write_tokens += row.cache_write_tokens
        sums.output_tokens += row.output_tokens
        sums.reasoning_tokens += row.reasoning_tokens
        if priced:
            self._add_money(row)
        else:
            self._add_unpriced(row)
        sums.errors += row.error is not None
        sums.unpriced += row.cost_usd is None and row.error is None
        sums.estimated += row.usage_estimated
        self._add_compression(row)
        self.run_ids.add(row.run_id)
        if row.cache_hit:
            self.cache_hit_run_ids.add(row.run_id)
            sums.replayed_input_tokens += row.input_tokens
            sums.replayed_output_tokens += row.output_tokens
        if row.escalated:
            self.escalated_run_ids.add(row.run_id)

    def _add_money(self, row: LedgerRow) -> None:
        """A row of a priced call: its cost and baseline, and the levers it carries."""
        sums = self.sums
        cost, baseline = to_picousd(row.cost_usd), to_picousd(row.baseline_cost_usd)
        if cost is not None:
            sums.cost_picousd = (sums.cost_picousd or 0) + cost
        if baseline is not None:
            sums.baseline_picousd = (sums.baseline_picousd or 0) + baseline
        if carries_levers(row):
            for lever in LEVERS:
                name = f"saved_{lever}_picousd"
                saved = to_picousd(getattr(row, f"saved_{lever}_usd")) or 0
                setattr(sums, name, getattr(sums, name) + saved)
        elif cost is not None and baseline is not None:  # a row from before the lever split
            sums.saved_routing_picousd += baseline - cost

    def _add_unpriced(self, row: LedgerRow) -> None:
        """A row of an unpriced call: only counted, and what it cost if that is known."""
        self.unpriced_run_ids.add(row.run_id)
        cost = to_picousd(row.cost_usd)
        if cost is not None:
            sums = self.sums
            sums.unpriced_calls_known_cost_picousd = (
                sums.unpriced_calls_known_cost_picousd or 0
            ) + cost

    def _add_compression(self, row: LedgerRow) -> None:
        sums = self.sums
        sums.compression_tokens_saved += row.compression_tokens_saved
        saved = to_picousd(row.compression_saved_usd)
        if saved is not None:
            sums.compression_saved_picousd = (sums.compression_saved_picousd or 0) + saved
        cost = to_picousd(row.cost_usd)
        if cost is not None and row.role == "compressor":
            sums.compression_cost_picousd = (sums.compression_cost_picousd or 0) + cost

    def totals(self) -> GroupTotals:
        self.sums.calls = len(self.run_ids)
        self.sums.cache_hit_calls = len(self.cache_hit_run_ids)
        self.sums.escalated_calls = len(self.escalated_run_ids)
        self.sums.unpriced_calls = len(self.unpriced_run_ids)
        return self.sums
