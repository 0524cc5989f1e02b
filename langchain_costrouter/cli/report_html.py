"""``costrouter report --html FILE``: one self-contained page with the report's plots.

The page holds the same summaries as the text report (the same ledger queries) and
three plots drawn with matplotlib as inline SVG, so it opens offline and can be mailed:
cost against baseline per day, savings by lever, and escalation and cache-hit rate per
task. matplotlib is an optional dependency (the ``report`` extra).
"""

from __future__ import annotations

import html
import importlib
import io
import math
from decimal import Decimal
from typing import Any

from langchain_costrouter.cli.output import dollars, exact_places, percent
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger import Summary, SummaryRow
from langchain_costrouter.metadata import LEVERS

_UNKNOWN = "unknown"
_NONE = "-"
_PLACES = 6
"""The fewest decimals dollars are shown with (more when an amount needs them)."""


def render_page(title: str, days: Summary, tasks: Summary, totals: SummaryRow) -> str:
    """The HTML page: a totals line, three SVG plots and the per-task table."""
    pyplot = _pyplot()
    rows = [*tasks, totals]
    places = exact_places(
        (amount for row in rows for amount in (row.cost_usd, row.baseline_cost_usd)), _PLACES
    )
    figures = [
        ("Cost against baseline per day (USD)", _per_day(pyplot, days)),
        (_levers_caption(totals), _levers(pyplot, totals)),
        ("Escalation and cache-hit rate per task", _rates(pyplot, tasks)),
    ]
    headline = _headline(totals, places)
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(headline)}</p>"]
    for caption, svg in figures:
        body.append(f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>")
    body.append(_task_table(tasks, totals, places))
    style = "body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:0 .6em}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError as error:
        raise ConfigError(
            "--html needs matplotlib: pip install 'langchain-costrouter[report]'"
        ) from error
    matplotlib.use("Agg")  # no display needed, and none is touched
    return importlib.import_module("matplotlib.pyplot")


def _svg(pyplot: Any, figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    pyplot.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue: the SVG sits inside HTML


def _per_day(pyplot: Any, days: Summary) -> str:
    figure, axes = pyplot.subplots(figsize=(8, 3))
    keys = [row.key for row in days]
    # An unknown figure is a gap in the line (NaN), never a point at $0.
    axes.plot(keys, [_number(row.cost_usd) for row in days], marker="o", label="cost")
    axes.plot(keys, [_number(row.baseline_cost_usd) for row in days], marker="o", label="baseline")
    axes.set_ylabel("USD")
    axes.legend()
    figure.autofmt_xdate()
    return _svg(pyplot, figure)


def _levers(pyplot: Any, totals: SummaryRow) -> str:
    figure, axes = pyplot.subplots(figsize=(8, 3))
    # Unknown levers (no priced call) are no bars (NaN), never bars at $0.
    amounts = [_number(getattr(totals, f"saved_{lever}_usd")) for lever in LEVERS]
    axes.bar(LEVERS, amounts, color=["tab:red" if a < 0 else "tab:green" for a in amounts])
    axes.axhline(0, color="black", linewidth=0.5)
    axes.set_ylabel("USD saved")
    return _svg(pyplot, figure)


def _levers_caption(totals: SummaryRow) -> str:
    if totals.savings_usd is None and totals.unpriced_calls:
        return "Savings by lever (USD): unknown, no call has a known saving"
    return "Savings by lever (USD)"


def _rates(pyplot: Any, tasks: Summary) -> str:
    figure, axes = pyplot.subplots(figsize=(8, 3))
    keys = [row.key for row in tasks]
    positions = range(len(keys))
    escalation = [100 * row.escalation_rate for row in tasks]
    hits = [100 * row.cache_hit_rate for row in tasks]
    axes.bar([p - 0.2 for p in positions], escalation, width=0.4, label="escalated %")
    axes.bar([p + 0.2 for p in positions], hits, width=0.4, label="cache hits %")
    axes.set_xticks(list(positions), keys)
    axes.set_ylim(0, 100)
    axes.legend()
    return _svg(pyplot, figure)


def _headline(totals: SummaryRow, places: int) -> str:
    saved = _saved(totals)
    left_out = totals.unpriced_calls
    cost, baseline = (
        _amount(totals, value, places) for value in (totals.cost_usd, totals.baseline_cost_usd)
    )
    return (
        f"{totals.calls} calls; cost {_money(cost)} against a baseline of "
        f"{_money(baseline)}; saved {saved}"
        + (f" ({left_out} calls of unknown price or saving left out)" if left_out else "")
    )


def _saved(row: SummaryRow) -> str:
    """The saving over the baseline, from the exact dollars, as the text report shows it."""
    saved, baseline = row.savings_usd, row.baseline_cost_usd
    if saved is None and row.unpriced_calls:
        return _UNKNOWN  # no priced call: not 0%
    return _NONE if saved is None or not baseline else percent(saved, baseline)


def _money(amount: str) -> str:
    return amount if amount in (_UNKNOWN, _NONE) else f"${amount}"


def _amount(row: SummaryRow, value: Decimal | None, places: int) -> str:
    """Unknown only when a call of the row has no known price (marked ``*``); a group
    whose calls recorded no cost (a refused call billed nothing) has none to show."""
    if value is None:
        return _UNKNOWN if row.unpriced_calls else _NONE
    return dollars(value, places)


def _number(value: Decimal | None) -> float:
    return math.nan if value is None else float(value)


def _task_table(tasks: Summary, totals: SummaryRow, places: int) -> str:
    """A line per task and the total; a task some of whose calls are left out of cost,
    baseline and saving (unknown price) is marked ``*``, as in the text report."""
    head = "<tr><th>task</th><th>calls</th><th>cost $</th><th>baseline $</th><th>saved</th></tr>"
    rows = [
        f"<tr><td>{html.escape(key + ('*' if row.unpriced_calls else ''))}</td>"
        f"<td>{row.calls}</td><td>{_amount(row, row.cost_usd, places)}</td>"
        f"<td>{_amount(row, row.baseline_cost_usd, places)}</td><td>{_saved(row)}</td></tr>"
        for key, row in [*((row.key, row) for row in tasks), ("total", totals)]
    ]
    return f"<table>{head}{''.join(rows)}</table>"
