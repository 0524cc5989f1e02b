"""The text table of ``costrouter report``: a line per group, the total, the levers, notes.

Every figure is a `SummaryRow` field as the ledger computed it, and cost, reference and
savings count the same calls (the priced ones), so a reader can check each line's
reference - cost against its levers. What is left out is marked, never shown as $0.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

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
_COMPRESSION_COLUMN = ("compression net $", 17)
_LEFT_OUT = "*"
"""Marks a group some of whose calls are left out of cost, reference and savings."""
_UNKNOWN = "unknown"
_NOTE_WIDTH = 100


def table(by: str, groups: Summary, totals: SummaryRow) -> str:
    """The report as text: groups, total, savings by lever and the notes that apply."""
    # The compression column only appears once compression has run: most ledgers have none.
    columns = _columns(by, any(_compressed(row) for row in groups))
    labels = [_label(row, row.key) for row in groups]
    total = _label(totals, "total")
    key_width = max([len(by), len(total), *(len(label) for label in labels)])
    header = by.ljust(key_width) + "".join(name.rjust(width + 2) for name, width in columns)
    lines = [header, "-" * len(header)]
    pairs = zip(groups, labels, strict=True)
    lines += [_line(by, row, label, key_width, columns) for row, label in pairs]
    lines += ["-" * len(header), _line(by, totals, total, key_width, columns)]
    notes = _notes(by, totals)
    tail = ["", *notes] if notes else []
    return "\n".join(lines + _lever_table(by, key_width, groups, labels, totals) + tail)


def _columns(by: str, compression: bool) -> tuple[tuple[str, int], ...]:
    """By model the count is of attempts: a call that escalated tried several models."""
    count = ("attempts", 8) if by == "model" else ("calls", 7)
    return (count, *_COLUMNS, _COMPRESSION_COLUMN) if compression else (count, *_COLUMNS)


def _label(row: SummaryRow, key: str) -> str:
    return key + _LEFT_OUT if row.unpriced_calls else key


def _lever_table(
    by: str, key_width: int, groups: Summary, labels: list[str], totals: SummaryRow
) -> list[str]:
    """Savings split by lever, in dollars: each line adds up to its reference minus its cost
    (by model, the total line only: see `_notes`)."""
    if totals.savings_usd is None:
        return []
    names = (*LEVERS, "saved")
    header = "".ljust(key_width) + "".join(name.rjust(14) for name in names)
    only = " on the total line only" if by == "model" else ""
    title = f"Savings by lever (USD; baseline - cost = the sum of the levers{only})"
    lines = ["", title, header]
    for label, row in [*zip(labels, groups, strict=True), (_label(totals, "total"), totals)]:
        amounts = [getattr(row, f"saved_{lever}_usd") for lever in LEVERS]
        cells = [_signed(row, amount) for amount in (*amounts, row.savings_usd)]
        lines.append(label.ljust(key_width) + "".join(cell.rjust(14) for cell in cells))
    return lines


def _line(
    by: str, row: SummaryRow, label: str, key_width: int, columns: tuple[tuple[str, int], ...]
) -> str:
    cells = (*_cells(by, row), _net_dollars(row))[: len(columns)]
    widths = (width for _, width in columns)
    return label.ljust(key_width) + "".join(
        cell.rjust(width + 2) for cell, width in zip(cells, widths, strict=True)
    )


def _compressed(row: SummaryRow) -> bool:
    return row.compression_tokens_saved > 0 or row.compression_cost_usd is not None


def _cells(by: str, row: SummaryRow) -> tuple[str, ...]:
    savings = "-" if row.savings_pct is None else f"{row.savings_pct:.1f}%"
    if row.savings_usd is None and row.unpriced_calls:
        savings = _UNKNOWN  # no priced call: the saving is unknown, not 0.0%
    return (
        str(row.attempts if by == "model" else row.calls),
        f"{row.input_tokens:,}",
        f"{row.output_tokens:,}",
        _dollars(row, row.cost_usd),
        _dollars(row, row.baseline_cost_usd),
        savings,
        f"{100 * row.cache_hit_rate:.1f}%",
        f"{100 * row.escalation_rate:.1f}%",
    )


def _net_dollars(row: SummaryRow) -> str:
    """Signed: a compressor that costs more than it saves shows a negative net."""
    return "-" if row.compression_net_usd is None else f"{row.compression_net_usd:+.6f}"


def _dollars(row: SummaryRow, value: Decimal | None) -> str:
    if value is None:
        return _UNKNOWN if row.unpriced_calls else "-"
    return f"{value:.6f}"


def _signed(row: SummaryRow, value: Decimal | None) -> str:
    if value is None:
        return _UNKNOWN if row.unpriced_calls else "-"
    return f"{value:+.6f}"


def _notes(by: str, totals: SummaryRow) -> list[str]:
    notes = []
    if totals.replayed_input_tokens or totals.replayed_output_tokens:
        notes.append(
            f"Tokens include cache hits' {totals.replayed_input_tokens:,} in and "
            f"{totals.replayed_output_tokens:,} out, replayed from the cache: "
            "no provider billed them."
        )
    if totals.unpriced_calls:
        notes.append(_left_out_note(totals))
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
                f"{totals.errors} rows are failed provider attempts ($0, unless part of an "
                "answer had been sent: that part is billed); a call that another attempt "
                "answered did not fail.",
                _NOTE_WIDTH,
            )
        )
    if totals.estimated:
        notes.append(f"{totals.estimated} rows have token counts estimated with tiktoken.")
    return notes


def _left_out_note(totals: SummaryRow) -> str:
    """What the lines marked * leave out, and the part of it whose cost is known."""
    why = (
        f"{totals.unpriced} rows have no known price, or the reference model has none"
        if totals.unpriced
        else "the reference model has no known price"
    )
    known = totals.unpriced_calls_known_cost_usd
    paid = "" if known is None else f"; their priced rows cost ${known:.6f}"
    return (
        f"{_LEFT_OUT} {totals.unpriced_calls} calls are left out of cost, reference and "
        f"savings: their cost or saving is unknown.\n  ({why}{paid}.)"
    )
