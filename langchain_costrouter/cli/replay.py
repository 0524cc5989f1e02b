"""``costrouter replay``: the figures of a given policy on an outcomes file.

Which records are evaluated: when the policy was calibrated on this very file (its
metadata records the split and a digest of the file's questions), its test split,
so the figures are the ones ``calibrate`` printed and no train row flatters the
policy; on any other file every record is new to the policy and all are evaluated.
The JSON says which under ``evaluated_on``.

The replayed calls are written to ``--ledger`` (namespace ``replay``), and the report
ends with what those rows say, per task and in total: calls, cost, the ledger's
reference (its baseline) and the saving against it, each the exact sum of this run's
rows, so ``costrouter report`` on a fresh ledger prints the same figures. They differ
from ``savings vs baseline`` above them: that baseline is the best single model's
recorded cost on its own answers, the ledger's reference is the reference model priced
on the answers served. An unpriced reference is unknown, never $0.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_costrouter.calibration import load_policy
from langchain_costrouter.calibration.arrays import read_costed_outcomes
from langchain_costrouter.calibration.report import figures_report, replay_split
from langchain_costrouter.calibration.run import (
    RunSummary,
    ServedCall,
    outcome_cost,
    replay_router,
    run_records,
)
from langchain_costrouter.cli.calibrate import render_figures
from langchain_costrouter.cli.output import dollars, exact_places, percent, print_report
from langchain_costrouter.ledger.dollars import to_picousd, usd


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter replay``."""
    parser.description = (
        "Run a calibrated policy through RoutedChatModel with replayed answers "
        "and print quality, cost and savings against the best single model and the oracle, "
        "then what the ledger holds of the run. "
        "On the file the policy was calibrated on, only its test split is evaluated."
    )
    parser.add_argument("outcomes", type=Path, metavar="OUTCOMES", help="outcomes JSONL file")
    parser.add_argument(
        "--policy", type=Path, required=True, metavar="POLICY", help="policy JSON (calibrate --out)"
    )
    parser.add_argument(
        "--ledger",
        default="memory://",
        metavar="URL",
        help="ledger the replayed calls are written to, namespace 'replay' (default "
        "memory://, gone when the command ends); costrouter report --ledger URL sums them",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    """Replay the policy and print the figures."""
    return print_report(_replay(args), as_json=args.json, render=render_replay)


def _replay(args: argparse.Namespace) -> dict[str, Any]:
    cost_of = outcome_cost()
    records = read_costed_outcomes(args.outcomes, cost_of)  # a cost error names its line
    policy = load_policy(args.policy)
    train, test = replay_split(policy, records)
    router = replay_router(policy, records, ledger=args.ledger)
    try:
        calls = run_records(router, test)
    finally:
        if router.ledger_store is not None:
            router.ledger_store.close()
    report = figures_report(
        policy=policy,
        train=train,
        test=test,
        routed=RunSummary.of(calls).figures(),
        cost_of=cost_of,
        policy_path=args.policy,
    )
    report["evaluated_on"] = "test split" if train else "all records"
    report["ledger"] = {"url": args.ledger, **ledger_figures(calls)}
    return report


def ledger_figures(calls: Sequence[ServedCall]) -> dict[str, Any]:
    """``tasks`` (per task label) and ``total``: the run's rows summed as
    `Ledger.summary` sums them."""
    tasks: dict[str, list[ServedCall]] = {}
    for call in calls:
        tasks.setdefault(call.record.task, []).append(call)
    groups = {task: _sums(group) for task, group in sorted(tasks.items())}
    return {"tasks": groups, "total": _sums(calls)}


def _sums(calls: Sequence[ServedCall]) -> dict[str, Any]:
    """Calls, cost, reference and saving (floats of the exact sums). When a call's
    reference had no price, the reference and the saving are None (unknown, never $0)
    and the cost is still every row's: `costrouter report` shows it in its note."""
    cost = sum((call.cost_usd for call in calls), Decimal(0))
    baselines = [call.baseline_usd for call in calls if call.baseline_usd is not None]
    reference = sum(baselines, Decimal(0)) if len(baselines) == len(calls) else None
    return {
        "calls": len(calls),
        "cost_usd": float(cost),
        "reference_cost_usd": None if reference is None else float(reference),
        "savings_pct": _saving_pct(cost, reference),
    }


def _saving_pct(cost: Decimal, reference: Decimal | None) -> float | None:
    """The percent saved, computed on picodollars exactly as `Ledger.summary` does."""
    base, spent = to_picousd(reference), to_picousd(cost)
    if not base or spent is None:
        return None  # unpriced reference, or nothing it would have cost
    return 100 * (base - spent) / base  # int / int: the float nearest the exact figure


def render_replay(report: dict[str, Any]) -> str:
    """`render_figures`, then the ledger's figures of the run, dollars exact (each
    float read back by its shortest repr, as the ledger reads the router's floats)."""
    ledger = report["ledger"]
    groups = {**ledger["tasks"], "total": ledger["total"]}
    amounts = [usd(figures[key]) for figures in groups.values() for key in _DOLLARS]
    places = exact_places(amounts, 6)
    width = max(len(task) for task in groups)
    lines = [
        render_figures(report),
        "",
        f"ledger {ledger['url']}: this run's calls (namespace replay), summed as costrouter "
        "report sums them; reference: the ledger's baseline, the reference model priced "
        "on the answers served",
        f"{'task':<{width}}  {'calls':>6}  {'cost $':>14}  {'reference $':>14}  {'saving':>8}",
    ]
    for task, figures in groups.items():
        spent, base = (usd(figures[key]) for key in _DOLLARS)
        cost, reference = (_cell(amount, places) for amount in (spent, base))
        shown = "unknown"  # an unpriced reference (or none): never a saving of 0%
        if figures["savings_pct"] is not None and spent is not None and base:
            shown = percent(base - spent, base)  # the exact figure, rounded once
        lines.append(
            f"{task:<{width}}  {figures['calls']:>6}  {cost:>14}  {reference:>14}  {shown:>8}"
        )
    return "\n".join(lines)


_DOLLARS = ("cost_usd", "reference_cost_usd")


def _cell(amount: Decimal | None, places: int) -> str:
    return "unknown" if amount is None else dollars(amount, places)
