"""``costrouter demo``: the whole product on the bundled sample, no API key, no network.

It calibrates a policy on half of RouteLLM's recorded answers (shipped as package
data), then sends the other half through `RoutedChatModel` twice, with the embedded
defaults a real deployment starts with: the diskcache cache and the SQLite ledger.
The first pass shows the cascade's saving against always calling the strongest
model; the second shows the cache answering every repeated question for $0. The
children replay recorded answers, so every figure is real data, not a simulation.
This module gathers the figures (the ``--json`` output); `cli/demo_render.py` lays
them out.
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
from langchain_costrouter.cli.demo_render import render
from langchain_costrouter.cli.output import check_output_dir, print_report
from langchain_costrouter.ledger.engine import APP_NAME
from langchain_costrouter.ledger.summary import SummaryRow
from langchain_costrouter.metadata import LEVERS
from langchain_costrouter.outcomes import OutcomeRecord, read_outcomes


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
    save_policy(policy, directory / "policy.json")
    return replay_router(
        policy,
        records,
        cache=f"diskcache://{directory / 'cache'}",
        ledger=f"sqlite:///{directory / 'ledger.sqlite3'}",
        namespace="demo",
        reference_model=strongest,
    )


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
        "escalations": summary.escalations,  # the counts the rates are of, for the table
        "cache_hits": summary.cache_hits,
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


def _bundled_records() -> list[OutcomeRecord]:
    with as_file(files("langchain_costrouter") / "data" / "demo_outcomes.jsonl") as path:
        return read_outcomes(path)


def _close(router: RoutedChatModel) -> None:
    router.ledger_store.close()
    router.cache_store.close()
