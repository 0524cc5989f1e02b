"""Spend, tokens and savings per task, model, day or purpose, from ledger rows.

SQL ledgers aggregate in the database (`summary_sql`) and the in-memory ledger in Python
(`grouping`); both fill the same `GroupTotals` (money in integer picodollars), so the
figures of a report do not depend on where the rows live.

Cost, baseline and savings count the same calls, the priced ones, so that in every
group baseline - cost = the sum of the levers: a call with an unknown price (of an
attempt, or of the reference) is left out of all three and counted in
``unpriced_calls`` instead, never read as $0.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from langchain_costrouter.ledger.dollars import from_picousd
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.metadata import LEVERS

GroupBy = Literal["task", "model", "day", "purpose", "all"]
GROUP_BY: tuple[GroupBy, ...] = ("task", "model", "day", "purpose", "all")
NO_TASK = "(none)"


@dataclass
class GroupTotals:
    """Raw sums of one group, as a database returns them."""

    key: str
    calls: int = 0
    attempts: int = 0
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    replayed_input_tokens: int = 0  # the tokens of cache hits' rows: no provider billed them
    replayed_output_tokens: int = 0
    cost_picousd: int | None = None  # the rows of priced calls only, as the baseline
    baseline_picousd: int | None = None
    saved_routing_picousd: int = 0
    saved_cascade_picousd: int = 0
    saved_cache_picousd: int = 0
    saved_compression_picousd: int = 0
    saved_batching_picousd: int = 0
    cache_hit_calls: int = 0
    escalated_calls: int = 0
    errors: int = 0
    unpriced: int = 0
    unpriced_calls: int = 0  # calls left out of cost, baseline and savings
    unpriced_calls_known_cost_picousd: int | None = None  # their rows with a known cost
    estimated: int = 0
    compression_tokens_saved: int = 0
    compression_saved_picousd: int | None = None
    compression_cost_picousd: int | None = None  # rows of role "compressor"


@dataclass(frozen=True)
class SummaryRow:
    """Spend of one group. Rates are fractions of calls (distinct run ids), of
    ``cache_hit_calls`` and ``escalated_calls``.

    ``cost_usd``, ``baseline_cost_usd`` and ``savings_usd`` count the priced calls
    only (None if there is none), so ``baseline_cost_usd - cost_usd == savings_usd``
    to the picodollar. ``unpriced_calls`` counts the calls left out (an attempt or the
    reference has no known price: their cost and saving are unknown, never $0),
    ``unpriced`` their rows with no known price, and ``unpriced_calls_known_cost_usd``
    what their priced rows cost (a lower bound of their spend). ``savings_usd`` is the
    sum of the five levers (``saved_*_usd``), each call's ``baseline - cost`` split as
    its record split it; ``savings_pct`` divides it by ``baseline_cost_usd``. Rows
    from before the split read as routing only. By model, a call's baseline and
    levers sit on the model that served it and its other attempts' cost on theirs,
    so only sums over whole calls (any other grouping, the total) reconcile.
    ``compression_net_usd`` is what compression saved on the serving models minus what
    the compressor's own calls cost; None when there was no compression, or when tokens
    were saved at an unknown price. The token counts include cache hits' (a hit keeps
    the answer's usage, as langchain-core's cache does); ``replayed_input_tokens`` and
    ``replayed_output_tokens`` are those, which no provider billed: the rest is what a
    provider's own usage page should show.
    """

    key: str
    calls: int
    attempts: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    replayed_input_tokens: int
    replayed_output_tokens: int
    cost_usd: Decimal | None
    baseline_cost_usd: Decimal | None
    savings_usd: Decimal | None
    savings_pct: float | None
    cache_hit_rate: float
    escalation_rate: float
    cache_hit_calls: int
    escalated_calls: int
    errors: int
    unpriced: int
    unpriced_calls: int
    unpriced_calls_known_cost_usd: Decimal | None
    estimated: int
    compression_tokens_saved: int
    compression_saved_usd: Decimal | None
    compression_cost_usd: Decimal | None
    compression_net_usd: Decimal | None
    saved_routing_usd: Decimal | None
    saved_cascade_usd: Decimal | None
    saved_cache_usd: Decimal | None
    saved_compression_usd: Decimal | None
    saved_batching_usd: Decimal | None

    @classmethod
    def from_totals(cls, totals: GroupTotals) -> SummaryRow:
        """Turn raw sums into dollars and rates."""
        baseline = totals.baseline_picousd
        levers = {lever: getattr(totals, f"saved_{lever}_picousd") for lever in LEVERS}
        savings = sum(levers.values())
        known = baseline is not None  # a failed call's baseline is 0, not unknown
        calls = totals.calls
        return cls(
            key=totals.key,
            calls=calls,
            attempts=totals.attempts,
            input_tokens=totals.input_tokens,
            cache_read_tokens=totals.cache_read_tokens,
            cache_write_tokens=totals.cache_write_tokens,
            output_tokens=totals.output_tokens,
            reasoning_tokens=totals.reasoning_tokens,
            replayed_input_tokens=totals.replayed_input_tokens,
            replayed_output_tokens=totals.replayed_output_tokens,
            cost_usd=from_picousd(totals.cost_picousd),
            baseline_cost_usd=from_picousd(baseline),
            savings_usd=from_picousd(savings) if known else None,
            savings_pct=100 * savings / baseline
            if baseline
            else None,  # int / int: exact, then rounded
            cache_hit_rate=totals.cache_hit_calls / calls if calls else 0.0,
            escalation_rate=totals.escalated_calls / calls if calls else 0.0,
            cache_hit_calls=totals.cache_hit_calls,
            escalated_calls=totals.escalated_calls,
            errors=totals.errors,
            unpriced=totals.unpriced,
            unpriced_calls=totals.unpriced_calls,
            unpriced_calls_known_cost_usd=from_picousd(totals.unpriced_calls_known_cost_picousd),
            estimated=totals.estimated,
            compression_tokens_saved=totals.compression_tokens_saved,
            compression_saved_usd=from_picousd(totals.compression_saved_picousd),
            compression_cost_usd=from_picousd(totals.compression_cost_picousd),
            compression_net_usd=from_picousd(_compression_net(totals)),
            **{f"saved_{k}_usd": from_picousd(v) if known else None for k, v in levers.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dollars as floats (like ``response_metadata["costrouter"]``)."""
        return {
            name: float(value) if isinstance(value, Decimal) else value
            for name, value in asdict(self).items()
        }


class Summary(tuple[SummaryRow, ...]):
    """The rows of a summary: a plain tuple, plus `to_pandas` when pandas is there."""

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every row as a JSON-ready dict."""
        return [row.to_dict() for row in self]

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` indexed by the group key (needs ``pip install pandas``)."""
        pandas = importlib.import_module("pandas")  # optional dependency, untyped
        return pandas.DataFrame(self.to_dicts()).set_index("key")


def _compression_net(totals: GroupTotals) -> int | None:
    saved, cost = totals.compression_saved_picousd, totals.compression_cost_picousd
    if saved is None and (totals.compression_tokens_saved or cost is None):
        return None  # nothing compressed, or a saving of unknown worth (never $0)
    return (saved or 0) - (cost or 0)


def summary_of(groups: Iterable[GroupTotals], by: GroupBy) -> Summary:
    """Order groups for reading: days in order, others by spend, largest first."""
    rows = [SummaryRow.from_totals(group) for group in groups]
    if by == "day":
        rows.sort(key=lambda row: row.key)
    else:
        rows.sort(key=lambda row: (-(row.cost_usd or 0), row.key))
    return Summary(rows)


@dataclass(frozen=True)
class RowFilter:
    """Which rows a summary reads: a time range (UTC, ``until`` excluded) and exact keys."""

    since: datetime | None = None
    until: datetime | None = None
    namespace: str | None = None
    task: str | None = None
    purpose: str | None = None

    @classmethod
    def of(
        cls,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        **keys: str | None,
    ) -> RowFilter:
        return cls(since=parse_since(since), until=parse_since(until), **keys)

    def matches(self, row: LedgerRow) -> bool:
        return (
            (self.since is None or row.time >= self.since)
            and (self.until is None or row.time < self.until)
            and all(
                wanted is None or getattr(row, name) == wanted
                for name, wanted in self.keys().items()
            )
        )

    def keys(self) -> dict[str, str | None]:
        return {"namespace": self.namespace, "task": self.task, "purpose": self.purpose}


def parse_since(since: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from an ISO string or datetime (naive means UTC)."""
    if since is None:
        return None
    moment = datetime.fromisoformat(since) if isinstance(since, str) else since
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
