"""``costrouter replay``: the figures of a given policy on an outcomes file.

Which records are evaluated: when the policy was calibrated on this very file (its
metadata records the split and a digest of the file's questions), its test split,
so the figures are the ones ``calibrate`` printed and no train row flatters the
policy; on any other file every record is new to the policy and all are evaluated.
The JSON says which under ``evaluated_on``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from langchain_costrouter.calibration import load_policy
from langchain_costrouter.calibration.arrays import read_costed_outcomes
from langchain_costrouter.calibration.report import replay_split
from langchain_costrouter.calibration.run import outcome_cost
from langchain_costrouter.cli.calibrate import evaluate_policy, render_figures
from langchain_costrouter.cli.output import print_report


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter replay``."""
    parser.description = (
        "Run a calibrated policy through RoutedChatModel with replayed answers "
        "and print quality, cost and savings against the best single model and the oracle. "
        "On the file the policy was calibrated on, only its test split is evaluated."
    )
    parser.add_argument("outcomes", type=Path, metavar="OUTCOMES", help="outcomes JSONL file")
    parser.add_argument(
        "--policy", type=Path, required=True, metavar="POLICY", help="policy JSON (calibrate --out)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    """Replay the policy and print the figures."""
    return print_report(_replay(args), as_json=args.json, render=render_figures)


def _replay(args: argparse.Namespace) -> dict[str, Any]:
    cost_of = outcome_cost()
    records = read_costed_outcomes(args.outcomes, cost_of)  # a cost error names its line
    policy = load_policy(args.policy)
    train, test = replay_split(policy, records)
    report = evaluate_policy(policy, records, (train, test), cost_of, args.policy)
    report["evaluated_on"] = "test split" if train else "all records"
    return report
