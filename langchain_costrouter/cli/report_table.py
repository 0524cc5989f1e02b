"""The text table of ``costrouter report``: a line per group, the total, the levers, notes.

Every figure is a `SummaryRow` field as the ledger computed it, and cost, reference and
savings count the same calls (the priced ones), so a reader can check each line's
reference - cost against its levers. Dollars are shown exactly, with as many decimals
as the ledger's amounts need (at least six, `output.exact_places`), so the groups add
up to the total line and a line's levers to its saving, as the ledger's sums do; rounded
line by line they would miss by a micro-dollar. What is left out is marked, never
shown as $0.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from decimal import Decimal

from langchain_costrouter.cli.output import dollars, exact_places, percent
from langchain_costrouter.ledger import Summary, SummaryRow
from langchain_costrouter.metadata import LEVERS

_COLUMNS = (
    ("tokens in", 11),
    ("tokens out", 11),
    ("cost $", 12),
    ("reference $", 12),
    ("savings", 8),
    ("cache hits", 10),
    ("escalated", 9),
)
"""Each column's name and its narrowest width; wider when its figures need it."""
_COMPRESSION_COLUMN = ("compression net $", 17)
_LEVER_WIDTH = 12
_LEFT_OUT = "*"
"""Marks a group some of whose calls are left out of cost, reference and savings."""
_UNKNOWN = "unknown"
_NOTE_WIDTH = 100
_PLACES = 6
"""The fewest decimals dollars are shown with (more when an amount needs them)."""


def table(by: str, groups: Summary, totals: SummaryRow) -> str:
    """The report as text: groups, total, savings by lever and the notes that apply."""
    rows = [*groups, totals]
    places = exact_places((amount for row in rows for amount in _amounts(row)), _PLACES)
    # The compression column only appears once compression has run: most ledgers have none.
    columns = _columns(by, any(_compressed(row) for row in groups))
    labels = [*(_label(row, row.key) for row in groups), _label(totals, "total")]
    key_width = max(len(by), *(len(label) for label in labels))
    cells = [_cells(by, row, places)[: len(columns)] for row in rows]
    main = _grid((by, key_width), columns, labels, cells)
    lines = [main[0], "-" * len(main[0]), *main[1:-1], "-" * len(main[0]), main[-1]]
    notes = _notes(by, totals, places)
    tail = ["", *notes] if notes else []
    return "\n".join(lines + _lever_table(by, key_width, rows, labels, places) + tail)


def _amounts(row: SummaryRow) -> Iterator[Decimal | None]:
    """Every amount of ``row`` the report shows."""
    yield from (row.cost_usd, row.baseline_cost_usd, row.compression_net_usd)
    yield from (row.unpriced_calls_known_cost_usd, *_levers(row))


def _levers(row: SummaryRow) -> tuple[Decimal | None, ...]:
    """The five levers of ``row``, then their sum, the saving."""
    return (*(getattr(row, f"saved_{lever}_usd") for lever in LEVERS), row.savings_usd)


def _columns(by: str, compression: bool) -> tuple[tuple[str, int], ...]:
    """By model the count is of attempts: a call that escalated tried several models."""
    count = ("attempts", 8) if by == "model" else ("calls", 7)
    return (count, *_COLUMNS, _COMPRESSION_COLUMN) if compression else (count, *_COLUMNS)


def _grid(
    key: tuple[str, int],
    columns: Sequence[tuple[str, int]],
    labels: Sequence[str],
    cells: Sequence[Sequence[str]],
) -> list[str]:
    """A header and a line per label, each column as wide as its widest cell needs."""
    widths = [
        max(width, *(len(line[i]) for line in cells)) + 2 for i, (_, width) in enumerate(columns)
    ]
    name, key_width = key

    def line(label: str, row: Sequence[str]) -> str:
        return label.ljust(key_width) + "".join(
            cell.rjust(width) for cell, width in zip(row, widths, strict=True)
        )

    header = line(name, [title for title, _ in columns])
    return [header, *(line(label, row) for label, row in zip(labels, cells, strict=True))]


def _label(row: SummaryRow, key: str) -> str:
    return key + _LEFT_OUT if row.unpriced_calls else key


def _lever_table(
    by: str, key_width: int, rows: Sequence[SummaryRow], labels: Sequence[str], places: int
) -> list[str]:
    """Savings split by lever, in dollars: each line adds up to its reference minus its cost
    (by model, the total line only: see `_notes`)."""
    if rows[-1].savings_usd is None:
        return []
    columns = [(name, _LEVER_WIDTH) for name in (*LEVERS, "saved")]
    cells = [[_signed(row, amount, places) for amount in _levers(row)] for row in rows]
    only = " on the total line only" if by == "model" else ""
    title = f"Savings by lever (USD; baseline - cost = the sum of the levers{only})"
    return ["", title, *_grid(("", key_width), columns, labels, cells)]


def _compressed(row: SummaryRow) -> bool:
    return row.compression_tokens_saved > 0 or row.compression_cost_usd is not None


def _cells(by: str, row: SummaryRow, places: int) -> tuple[str, ...]:
    return (
        str(row.attempts if by == "model" else row.calls),
        f"{row.input_tokens:,}",
        f"{row.output_tokens:,}",
        _dollars(row, row.cost_usd, places),
        _dollars(row, row.baseline_cost_usd, places),
        _saving(row),
        _rate(row, row.cache_hit_calls),
        _rate(row, row.escalated_calls),
        _net_dollars(row, places),
    )


def _saving(row: SummaryRow) -> str:
    """The saving over the reference, from the exact dollars (`output.percent`)."""
    saved, reference = row.savings_usd, row.baseline_cost_usd
    if saved is None and row.unpriced_calls:
        return _UNKNOWN  # no priced call: the saving is unknown, not 0.0%
    return "-" if saved is None or not reference else percent(saved, reference)


def _rate(row: SummaryRow, count: int) -> str:
    """``count`` of the row's calls; "-" with no calls (none of nothing is not 0.0%)."""
    return percent(count, row.calls) if row.calls else "-"


def _net_dollars(row: SummaryRow, places: int) -> str:
    """Signed: a compressor that costs more than it saves shows a negative net."""
    net = row.compression_net_usd
    return "-" if net is None else dollars(net, places, signed=True)


def _dollars(row: SummaryRow, value: Decimal | None, places: int) -> str:
    if value is None:
        return _UNKNOWN if row.unpriced_calls else "-"
    return dollars(value, places)


def _signed(row: SummaryRow, value: Decimal | None, places: int) -> str:
    if value is None:
        return _UNKNOWN if row.unpriced_calls else "-"
    return dollars(value, places, signed=True)


def _notes(by: str, totals: SummaryRow, places: int) -> list[str]:
    if not totals.calls:
        return ["No calls: the ledger holds none that these filters keep."]
    notes = []
    if totals.replayed_input_tokens or totals.replayed_output_tokens:
        notes.append(
            f"Tokens include cache hits' {totals.replayed_input_tokens:,} in and "
            f"{totals.replayed_output_tokens:,} out, replayed from the cache: "
            "no provider billed them."
        )
    if totals.unpriced_calls:
        notes.append(_left_out_note(totals, places))
    if by == "model":
        notes.append(
            textwrap.fill(
                f"By model, attempts count each model's rows (made by {totals.calls} calls) "
                "and cost is what they cost; reference and savings are those of the calls "
                "each model served, whose other attempts cost under their own model. The "
                "rates are of the calls that tried the model.",
                _NOTE_WIDTH,
            )
        )
    if totals.errors:  # rows with an error: attempts, whose call another attempt may answer
        notes.append(
            textwrap.fill(
                f"{totals.errors} rows are failed or cancelled provider attempts (a refused "
                "request costs nothing; a call cancelled or a stream cut is billed for its "
                "prompt and what it got); a call that another attempt "
                "answered did not fail.",
                _NOTE_WIDTH,
            )
        )
    if totals.estimated:
        notes.append(f"{totals.estimated} rows have token counts estimated with tiktoken.")
    return notes


def _left_out_note(totals: SummaryRow, places: int) -> str:
    """What the lines marked * leave out, and the part of it whose cost is known."""
    why = (
        f"{totals.unpriced} rows have no known price, or the reference model has none"
        if totals.unpriced
        else "the reference model has no known price"
    )
    known = totals.unpriced_calls_known_cost_usd
    paid = "" if known is None else f"; their priced rows cost ${dollars(known, places)}"
    return (
        f"{_LEFT_OUT} {totals.unpriced_calls} calls are left out of cost, reference and "
        f"savings: their cost or saving is unknown.\n  ({why}{paid}.)"
    )
