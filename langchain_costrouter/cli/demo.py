"""``costrouter demo``: the whole product on the bundled sample, no API key, no network.

It calibrates a policy on half of RouteLLM's recorded answers (shipped as package
data), then sends the other half through `RoutedChatModel` twice, with the embedded
defaults a real deployment starts with: the diskcache cache and the SQLite ledger.
The first pass shows the cascade's saving against always calling the strongest
model; the second shows the cache answering every repeated question for $0. The
children replay recorded answers, so every figure is real data, not a simulation.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import platformdirs

from langchain_costrouter._private_files import make_private_dir
from langchain_costrouter.calibration import SearchOptions, calibrate, save_policy
from langchain_costrouter.calibration.evaluate import (
    CostFunction,
    OutcomeMatrix,
    best_single_model,
    single_model_figures,
)
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.calibration.report import checked_split, with_split
from langchain_costrouter.calibration.run import (
    RunSummary,
    ServedCall,
    outcome_cost,
    replay_router,
    run_records,
)
from langchain_costrouter.chat_model import RoutedChatModel
from langchain_costrouter.cli.output import check_output_dir, dollars, exact_places, print_report
from langchain_costrouter.ledger.engine import APP_NAME, create_private_file
from langchain_costrouter.ledger.summary import SummaryRow
from langchain_costrouter.metadata import LEVERS
from langchain_costrouter.outcomes import OutcomeRecord, read_outcomes

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


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter demo``."""
    parser.description = (
        "Calibrate on the bundled RouteLLM sample, route its test half through "
        "RoutedChatModel with the diskcache cache and the SQLite ledger, then repeat the "
        "same questions to show the cache."
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="where the demo's policy, cache and ledger go (default: the user data dir)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Run both passes and print the per-task figures."""
    directory = check_output_dir((args.dir or default_demo_dir()).expanduser().resolve(), "--dir")
    return print_report(demo_report(directory), as_json=args.json, render=render)


DEMO_SEARCH = SearchOptions(method="legacy")
"""The bundled sample has under 100 train rows per task, where the guarded search (the
default) keeps the baseline and saves nothing; the demo shows the cascade's mechanics
with the unguarded search instead (the README's calibration section compares the two)."""


def default_demo_dir() -> Path:
    """The demo's own folder in the user data dir (never the app's cache or ledger)."""
    return platformdirs.user_data_path(APP_NAME) / "demo"


def demo_report(directory: Path) -> dict[str, Any]:
    """Calibrate, route the test split twice, and collect the figures of both passes."""
    records, textless = _answered_records(_bundled_records())
    train, test = checked_split(records, 0.5, 0)
    cost_of = outcome_cost()
    policy = with_split(calibrate(train, DEMO_SEARCH, cost_of), records, 0.5, 0)
    strongest = best_single_model(OutcomeMatrix.of(train, cost_of))
    router = _demo_router(directory, policy, records, strongest)
    try:
        router.cache_store.clear()  # every demo run starts cold, like a fresh deployment
        first = run_records(router, test, label="pass 1")
        second = run_records(router, test, label="pass 2")
        (ledger_totals,) = router.ledger_store.summary(by="all")
    finally:
        _close(router)
    per_task = _task_figures(strongest, cost_of)
    return {
        "records": {"total": len(records), "train": len(train), "test": len(test)},
        "left_out": textless,
        "strongest_model": strongest,
        "policy": str(directory / "policy.json"),
        "ledger": router.ledger_store.url,
        "cache": str(directory / "cache"),
        "first_pass": per_task(first),
        "second_pass": per_task(second),
        "ledger_totals": _ledger_totals(ledger_totals),
    }


def _ledger_totals(totals: SummaryRow) -> dict[str, Any]:
    """Both passes as `costrouter report` sums them from the ledger (the same query)."""
    levers = {lever: _dollars(getattr(totals, f"saved_{lever}_usd")) for lever in LEVERS}
    return {
        "calls": totals.calls,
        "cost_usd": _dollars(totals.cost_usd),
        "baseline_cost_usd": _dollars(totals.baseline_cost_usd),
        "savings_pct": totals.savings_pct,
        "savings_usd": levers,
    }


def _dollars(amount: Any) -> float | None:
    """An amount as JSON shows it: unknown stays None (null), never $0."""
    return None if amount is None else float(amount)


def _demo_router(
    directory: Path, policy: Policy, records: Sequence[OutcomeRecord], strongest: str
) -> RoutedChatModel:
    """The embedded defaults in ``directory``: the policy file, diskcache and SQLite, private."""
    make_private_dir(directory)
    for leftover in directory.glob("ledger.sqlite3*"):  # each run reports itself only
        leftover.unlink()
    create_private_file(directory / "policy.json")
    save_policy(policy, directory / "policy.json")
    return replay_router(
        policy,
        records,
        cache=f"diskcache://{directory / 'cache'}",
        ledger=f"sqlite:///{directory / 'ledger.sqlite3'}",
        namespace="demo",
        reference_model=strongest,
    )


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
        _table(report["first_pass"], _FIRST_COLUMNS, money),
        "",
        "Pass 2: the same questions again, answered by the diskcache cache",
        _table(report["second_pass"], _SECOND_COLUMNS, money),
        "",
        *_ledger_lines(report, money),
        "",
        NEXT_STEPS.format(example=files("langchain_costrouter") / "data" / "costrouter.toml"),
    ]
    return "\n".join(lines)


Column = tuple[str, str, Callable[[Any], str] | None]
"""A column's title, its figure's key, its format (None: dollars, `_money_format`)."""
_FIRST_COLUMNS: tuple[Column, ...] = (
    ("calls", "calls", str),
    ("quality", "quality", "{:.3f}".format),
    ("strongest q", "strongest_quality", "{:.3f}".format),
    ("cost $", "cost_usd", None),
    ("reference $", "reference_cost_usd", None),
    ("saving", "savings_pct", "{:.1f}%".format),
    ("escalated", "escalation_rate", "{:.1%}".format),
)
_SECOND_COLUMNS: tuple[Column, ...] = (
    ("calls", "calls", str),
    ("cache hits", "cache_hit_rate", "{:.1%}".format),
    ("cost $", "cost_usd", None),
    ("reference $", "reference_cost_usd", None),
    ("saving", "savings_pct", "{:.1f}%".format),
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
        + "".join(
            # An unpriced reference has no baseline: "-", never $0.
            ("-" if figures[key] is None else (fmt or money)(figures[key])).rjust(13)
            for _, key, fmt in columns
        )
        for task, figures in groups.items()
    ]
    return "\n".join([header, *rows[:-1], "-" * len(header), rows[-1]])


def _task_figures(
    strongest: str, cost_of: CostFunction
) -> Callable[[Sequence[ServedCall]], dict[str, dict[str, Any]]]:
    """Per task label and in total: routed figures next to always-``strongest``."""

    def per_task(calls: Sequence[ServedCall]) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[ServedCall]] = {}
        for call in calls:
            groups.setdefault(call.record.task, []).append(call)
        figures = {
            task: _figures(group, strongest, cost_of) for task, group in sorted(groups.items())
        }
        return {**figures, "total": _figures(calls, strongest, cost_of)}

    return per_task


def _figures(calls: Sequence[ServedCall], strongest: str, cost_of: CostFunction) -> dict[str, Any]:
    """Cost and reference cost from the ledger (what `costrouter report` sums, not
    rounded), quality from the recorded scores next to always-``strongest``'s."""
    summary = RunSummary.of(calls)
    matrix = OutcomeMatrix.of([call.record for call in calls], cost_of)
    always = single_model_figures(matrix)[strongest]
    baselines = [call.baseline_usd for call in calls if call.baseline_usd is not None]
    reference = sum(baselines, Decimal(0)) if len(baselines) == len(calls) else None
    return {
        "calls": summary.size,
        "quality": round(summary.quality, 6),
        "strongest_quality": round(always.quality, 6),
        "cost_usd": summary.cost_usd,
        "reference_cost_usd": None if reference is None else float(reference),
        "strongest_recorded_cost_usd": round(always.cost_usd, 6),
        "savings_pct": _saving_pct(calls, reference),
        "escalation_rate": round(summary.escalations / summary.size, 6),
        "cache_hit_rate": round(summary.cache_hits / summary.size, 6),
    }


def _saving_pct(calls: Sequence[ServedCall], reference: Decimal | None) -> float | None:
    """The percent saved against the reference, from the ledger's exact dollars and not
    rounded: the table rounds it once, to the tenth it shows (a saving rounded to
    hundredths first, 12.0451% as 12.05, would then show 12.1%)."""
    if not reference:
        return None  # unpriced reference, or nothing it would have cost
    cost = sum((call.cost_usd for call in calls), Decimal(0))
    return float(100 * (reference - cost) / reference)


def _answered_records(
    records: Sequence[OutcomeRecord],
) -> tuple[list[OutcomeRecord], dict[str, int]]:
    """The records every model answered with text, and per task how many were left out.

    RouteLLM recorded MMLU correctness without the answers; replaying an empty answer
    would show a router that answers nothing, and the cache rightly never stores one.
    """
    kept = [r for r in records if all(o.text for o in r.outcomes.values())]
    left_out = Counter(r.task for r in records if not all(o.text for o in r.outcomes.values()))
    return kept, dict(sorted(left_out.items()))


def _ledger_lines(report: dict[str, Any], money: Callable[[float], str]) -> list[str]:
    totals = report["ledger_totals"]
    levers = ", ".join(f"{k} ${money(v)}" for k, v in totals["savings_usd"].items() if v)
    saved = totals["savings_pct"]
    return [
        f"Ledger (this run only): {report['ledger']}",
        f"  both passes: {totals['calls']} calls, ${money(totals['cost_usd'])} against a "
        f"${money(totals['baseline_cost_usd'])} baseline"
        + ("" if saved is None else f", {saved:.1f}% saved ({levers})"),
        f"  the same figures: costrouter report --ledger {report['ledger']}",
    ]


def _left_out_note(left_out: dict[str, int]) -> list[str]:
    if not left_out:
        return []
    tasks = ", ".join(f"{count} {task!r}" for task, count in left_out.items())
    return [f"Left out: {tasks} questions recorded without answer text (nothing to replay)."]


def _bundled_records() -> list[OutcomeRecord]:
    with as_file(files("langchain_costrouter") / "data" / "demo_outcomes.jsonl") as path:
        return read_outcomes(path)


def _close(router: RoutedChatModel) -> None:
    router.ledger_store.close()
    router.cache_store.close()
