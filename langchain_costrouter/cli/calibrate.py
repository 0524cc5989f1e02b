"""``costrouter calibrate``: learn the cheapest safe cascade from recorded outcomes, and prove it.

The test figures come from the product's own path: the calibrated policy is loaded
into a `RoutedChatModel` whose children replay the recorded answers, every test
record goes through ``invoke``, and cost is read back from the router's ledger.
``replay`` shares the evaluation and the table of this module.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_costrouter.calibration import SearchOptions, save_policy
from langchain_costrouter.calibration.evaluate import CostFunction
from langchain_costrouter.calibration.options import METHODS
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.calibration.report import figures_report, threshold_text, with_split
from langchain_costrouter.calibration.run import (
    RunSummary,
    outcome_cost,
    replay_router,
    run_records,
)
from langchain_costrouter.calibration.scaled import calibrate_table, evaluate_table
from langchain_costrouter.calibration.table import read_outcome_table, table_split
from langchain_costrouter.cli import ledger_outcomes
from langchain_costrouter.cli._arguments import positive_int
from langchain_costrouter.cli.output import check_output_file, print_report
from langchain_costrouter.outcomes import OutcomeRecord


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter calibrate``."""
    parser.description = (
        "Split an outcomes file (JSONL, one question a line with every model's "
        "answer, score and cost), search per task label the cheapest cascade whose quality "
        "loss against the best single model has a proven bound, then run it through "
        "RoutedChatModel on the test split."
    )
    parser.add_argument(
        "outcomes", type=Path, nargs="?", metavar="OUTCOMES", help="outcomes JSONL file"
    )
    ledger_outcomes.add_arguments(parser)
    parser.add_argument("--train-fraction", type=float, default=0.5, help="default 0.5")
    parser.add_argument("--seed", type=int, default=0, help="split and fold seed (default 0)")
    parser.add_argument(
        "--target-quality",
        type=_unit_interval,
        help="train quality every task's cascade must reach, an error for a task that "
        "cannot (default: each task's best single model's train quality, so at least the "
        "baseline's)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="guarded",
        help="guarded (default): the cheapest cascade whose quality loss against the best "
        "single model has a one-sided upper confidence bound (nested folds) within "
        "--max-quality-loss; "
        "legacy: the cheapest whose out-of-fold train quality meets the target (no bound)",
    )
    parser.add_argument(
        "--max-quality-loss",
        type=_points,
        default=0.5,
        metavar="POINTS",
        help="guarded: quality points the cascade may lose against the baseline (default 0.5)",
    )
    parser.add_argument(
        "--confidence",
        type=_confidence,
        default=0.95,
        help="guarded: confidence of the loss bound (default 0.95)",
    )
    parser.add_argument("--out", type=Path, metavar="POLICY", help="write the policy JSON here")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="processes fitting the scorers; the policy is the same for any number "
        "(default: one per model to fit, up to 4, for a task of 10,000 train rows or "
        "more on two CPUs or more, else 1; on a busy machine 1 can be faster)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show progress bars on stderr even when it is not a terminal",
    )
    parser.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    """Calibrate, evaluate on the test split, print the figures."""
    if args.out is not None:
        check_output_file(args.out, "--out", {"OUTCOMES": args.outcomes})
    with ledger_outcomes.outcomes_file(args) as args.outcomes:
        return print_report(_calibrate(args), as_json=args.json, render=render_figures)


def _calibrate(args: argparse.Namespace) -> dict[str, Any]:
    """Read the file into columns, search, replay in batches and check a sample.

    `calibration.scaled` describes the path; its figures equal the record-by-record
    path's (`calibrate` then `evaluate_policy`) on the same file.
    """
    show = True if args.progress else None
    table = read_outcome_table(args.outcomes, outcome_cost(), show)
    train, test = table_split(table, args.train_fraction, args.seed)
    policy = calibrate_table(table, train, search_options(args), show)
    policy = with_split(policy, table.digest(), args.train_fraction, args.seed)
    if args.out is not None:
        save_policy(policy, args.out)
    return evaluate_table(
        policy, table, (train, test), args.outcomes, seed=args.seed, show=show, policy_path=args.out
    )


def search_options(args: argparse.Namespace) -> SearchOptions:
    """The search knobs of the command line."""
    return SearchOptions(
        method=args.method,
        max_quality_loss=args.max_quality_loss / 100.0,
        confidence=args.confidence,
        target_quality=args.target_quality,
        seed=args.seed,
        workers=args.workers,
    )


def evaluate_policy(
    policy: Policy,
    records: Sequence[OutcomeRecord],
    split: tuple[list[OutcomeRecord], list[OutcomeRecord]],
    cost_of: CostFunction,
    policy_path: Path | None,
) -> dict[str, Any]:
    """Run ``policy`` through a replay router over the test records; the 4.5 figures."""
    train, test = split
    calls = run_records(replay_router(policy, records), test)
    return figures_report(
        policy=policy,
        train=train,
        test=test,
        routed=RunSummary.of(calls).figures(),
        cost_of=cost_of,
        policy_path=policy_path,
    )


def render_figures(report: dict[str, Any]) -> str:
    """The readable table of a calibrate/replay report."""
    lines = [f"records: {report['train_size']} train, {report['test_size']} evaluated"]
    policy = report["policy"]
    lines.append(f"policy{'' if policy['path'] is None else ' ' + policy['path']}:")
    for task, spec in policy["tasks"].items():
        rules = ", ".join(f"{r['kind']} >= {threshold_text(r['threshold'])}" for r in spec["rules"])
        lines.append(f"  {task}: {' -> '.join(spec['tiers'])}" + (f"  [{rules}]" if rules else ""))
        if spec["train"].get("method") == "guarded":
            lines.append("    " + _promise_line(spec["train"]))
    if report.get("evaluated_on") == "all records" and _promises(policy):
        lines.append(
            "  note: these are not the records the policy was calibrated on; its promise "
            "holds for them only if they are drawn as its train rows were"
        )
    rows = [
        ("routed (policy)", report["test"]),
        (f"baseline {report['baseline']['model']}", report["baseline"]),
        ("oracle (per query)", report["oracle"]),
    ]
    width = max(len(name) for name, _ in rows)
    lines += ["", f"{'':{width}}  {'quality':>8}  {'cost $':>12}"]
    lines += [f"{name:{width}}  {f['quality']:8.4f}  {f['cost_usd']:12.6f}" for name, f in rows]
    calls = ", ".join(f"{m} {n}" for m, n in report["test"]["calls_by_model"].items())
    lines += ["", f"calls by model: {calls}", f"savings vs baseline: {report['savings_pct']:.2f}%"]
    return "\n".join(lines)


def _promise_line(train: dict[str, Any]) -> str:
    """The guarded search's promise for one task, as a line (intervals at its confidence)."""
    low, high = train["saving_interval"]
    quality = train.get("quality_interval")
    spread = "" if quality is None else f" [{quality[0]:.4f}, {quality[1]:.4f}]"
    scope = str(train.get("scope", f"for questions drawn as its {train['size']} train rows were"))
    return (
        f"promise: loss <= {train['loss_upper_bound'] * 100:.2f} pt "
        f"(allowed {train['allowed_loss'] * 100:.2f} pt at {train['confidence']:.0%}) "
        f"vs {train['baseline_model']}, expected quality {train['expected_quality']:.4f}"
        f"{spread}, quality >= {train['quality_lower_bound']:.4f}, "
        f"saving {train['expected_saving']:.1%} [{low:.1%}, {high:.1%}], "
        f"{train['size']} rows; {train['decision']}; {scope}"
    )


def _promises(policy: dict[str, Any]) -> bool:
    """Whether any task of the described policy states a guarded promise."""
    return any(spec["train"].get("method") == "guarded" for spec in policy["tasks"].values())


def _points(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value < 100.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 100) quality points, got {value}")
    return value


def _confidence(text: str) -> float:
    value = _number(text)
    if not 0.5 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0.5, 1), got {value}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value
