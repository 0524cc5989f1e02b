"""What ``costrouter demo`` prints: both passes per task, the ledger's totals, next steps.

The figures come from `cli/demo.py` (a dict, printed as is by ``--json``); this module
only lays them out. Dollars are shown exactly (`output.exact_places`), as
`costrouter report` shows them, and the saving is rounded once, to the tenth shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib.resources import files
from typing import Any

from langchain_costrouter.cli.output import dollars, exact_places, percent

NEXT_STEPS = """\
Next: the same router on real providers. Copy the example config
  {example}
(examples/costrouter.toml in the repository), point [providers.*] base_url at any
OpenAI-compatible endpoint and export the variable its api_key_env names (keys never
go in the file). Record your own eval set as outcomes JSONL, run
`costrouter calibrate mine.jsonl --out policy.json`, name the [models.*] entries like
the policy's tiers and add `[router] policy = "policy.json"`:
RoutedChatModel.from_config("costrouter.toml") then routes with the calibrated
cascade, and `costrouter report` reads its ledger."""


def render(report: dict[str, Any]) -> str:
    """The demo's readable output: both passes per task, then the next steps.

    Dollars are shown exactly (`output.exact_places`), as `costrouter report` shows
    them: each pass's tasks add up to its total, and pass 1 plus pass 2 of a task is
    that task's line in the report.
    """
    counts = report["records"]
    money = _money_format(report)
    lines = [
        f"Calibrated on {counts['train']} of {counts['total']} recorded questions (RouteLLM "
        "sample), then routed the other",
        f"{counts['test']} through RoutedChatModel with replayed answers: no API key, no network.",
        f"Policy: {report['policy']}",
        *_left_out_note(report["left_out"]),
        "",
        f"Pass 1: the calibrated cascade vs always {report['strongest_model']}",
        "(strongest q: its recorded quality; reference $: the ledger's baseline, that model",
        "priced on the same calls, as `costrouter report` sums it)",
        _table(report["first_pass"], FIRST_COLUMNS, money),
        "",
        "Pass 2: the same questions again, answered by the diskcache cache",
        _table(report["second_pass"], SECOND_COLUMNS, money),
        "",
        *_ledger_lines(report, money),
        "",
        NEXT_STEPS.format(example=files("langchain_costrouter") / "data" / "costrouter.toml"),
    ]
    return "\n".join(lines)


Figures = dict[str, Any]
"""One task's figures of a pass (`cli/demo.py`'s ``_figures``)."""
Column = tuple[str, str, Callable[[Figures], str] | None]
"""A column's title, its figure's key (None there: "-"), its text made from the task's
figures (None: the key's dollars, `_money_format`)."""


def _saving(figures: Figures) -> str:
    """The saving from the exact dollars, rounded once (`output.percent`)."""
    reference = _exact(figures["reference_cost_usd"])
    return percent(reference - _exact(figures["cost_usd"]), reference)


def _share(count: str) -> Callable[[Figures], str]:
    """The rate of ``count`` among the calls, from the counts, rounded once."""
    return lambda figures: percent(figures[count], figures["calls"])


def _shown(key: str, form: str) -> Callable[[Figures], str]:
    return lambda figures: format(figures[key], form)


FIRST_COLUMNS: tuple[Column, ...] = (
    ("calls", "calls", _shown("calls", "")),
    ("quality", "quality", _shown("quality", ".3f")),
    ("strongest q", "strongest_quality", _shown("strongest_quality", ".3f")),
    ("cost $", "cost_usd", None),
    ("reference $", "reference_cost_usd", None),
    ("saving", "savings_pct", _saving),
    ("escalated", "escalation_rate", _share("escalations")),
)
SECOND_COLUMNS: tuple[Column, ...] = (
    ("calls", "calls", _shown("calls", "")),
    ("cache hits", "cache_hit_rate", _share("cache_hits")),
    ("cost $", "cost_usd", None),
    ("reference $", "reference_cost_usd", None),
    ("saving", "savings_pct", _saving),
)
_PLACES = 4
"""The fewest decimals the demo shows dollars with (more when an amount needs them)."""


def _money_format(report: dict[str, Any]) -> Callable[[float], str]:
    """Dollars with the decimals that show every amount of the report exactly.

    The report holds floats (it is printed as JSON too); each is the float nearest to the
    ledger's exact sum, whose shortest repr gives that sum back (a demo's dollars have
    far fewer than 15 significant digits).
    """
    passes = (report["first_pass"], report["second_pass"])
    figures = [f for groups in passes for f in groups.values()]
    amounts = [f[key] for f in figures for key in ("cost_usd", "reference_cost_usd")]
    totals = report["ledger_totals"]
    amounts += [totals["cost_usd"], totals["baseline_cost_usd"], *totals["savings_usd"].values()]
    places = exact_places((_exact(amount) for amount in amounts if amount is not None), _PLACES)
    return lambda amount: dollars(_exact(amount), places)


def _exact(amount: float) -> Decimal:
    return Decimal(repr(amount))


def _table(
    groups: dict[str, dict[str, Any]], columns: Sequence[Column], money: Callable[[float], str]
) -> str:
    width = max(len("task"), *(len(task) for task in groups))
    header = "task".ljust(width) + "".join(title.rjust(13) for title, _, _ in columns)
    rows = [
        task.ljust(width)
        + "".join(_cell(figures, key, fmt, money).rjust(13) for _, key, fmt in columns)
        for task, figures in groups.items()
    ]
    return "\n".join([header, *rows[:-1], "-" * len(header), rows[-1]])


def _cell(
    figures: Figures, key: str, fmt: Callable[[Figures], str] | None, money: Callable[[float], str]
) -> str:
    if figures[key] is None:
        return "-"  # an unpriced reference has no baseline: "-", never $0
    return fmt(figures) if fmt else money(figures[key])


def _ledger_lines(report: dict[str, Any], money: Callable[[float], str]) -> list[str]:
    totals = report["ledger_totals"]
    levers = ", ".join(f"{k} ${money(v)}" for k, v in totals["savings_usd"].items() if v)
    baseline, cost = totals["baseline_cost_usd"], totals["cost_usd"]
    saved = None
    if totals["savings_pct"] is not None:  # a known, non-zero baseline: the levers' sum of it
        saving = sum((_exact(v) for v in totals["savings_usd"].values()), Decimal(0))
        saved = percent(saving, _exact(baseline))
    return [
        f"Ledger (this run only): {report['ledger']}",
        f"  both passes: {totals['calls']} calls, ${money(cost)} against a "
        f"${money(baseline)} baseline" + ("" if saved is None else f", {saved} saved ({levers})"),
        f"  the same figures: costrouter report --ledger {report['ledger']}",
    ]


def _left_out_note(left_out: dict[str, int]) -> list[str]:
    if not left_out:
        return []
    tasks = ", ".join(f"{count} {task!r}" for task, count in left_out.items())
    return [f"Left out: {tasks} questions recorded without answer text (nothing to replay)."]
