"""The figures of ``costrouter calibrate`` and ``replay`` (README, Calibration).

The routed figures come from a run of the real router (`run.run_records`); the
baseline and the oracle are pure figures over the same recorded outcomes, so the
three are measured on exactly the same records. The baseline model is chosen on
the train split and measured on the test split, as a team would have had to pick it.

A policy remembers the split it was calibrated on (fraction, seed, a digest of the
file's records, and that copies of a prompt were kept on one side). ``replay`` on that
same file evaluates the test split again, so it reproduces ``calibrate``'s figures
instead of flattering the policy with its own train rows; on any other file every
record is unseen and all of them are evaluated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_costrouter.calibration.evaluate import (
    CostFunction,
    Figures,
    OutcomeMatrix,
    best_single_model,
    oracle_figures,
    savings_pct,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.outcomes import OutcomeRecord
from langchain_costrouter.replay import record_key

SPLIT_KEY = "split"

Split = tuple[list[OutcomeRecord], list[OutcomeRecord]]

BY_PROMPT = {"groups": "prompt"}
"""What a split made by prompt (`groups`) records; a policy without it was calibrated on
the per-row split, and replay evaluates that split's test rows."""


def checked_split(records: Sequence[OutcomeRecord], train_fraction: float, seed: int) -> Split:
    """`split_records`, refusing a split that leaves a task without train or test records."""
    train, test = split_records(records, train_fraction, seed)
    sizes = {
        task: (
            sum(r.task == task for r in train),
            sum(r.task == task for r in test),
            len({record_key(r) for r in records if r.task == task}),
        )
        for task in sorted({record.task for record in records})
    }
    check_task_sizes(sizes, train_fraction)
    return train, test


def check_task_sizes(sizes: Mapping[str, tuple[int, int, int]], train_fraction: float) -> None:
    """Refuse a split that leaves tasks without train or test records, naming them all.

    ``sizes`` maps each task to its (train records, test records, distinct prompts).
    Copies of a prompt stay on one side, so no fraction splits a task of one prompt;
    saying so, for every such task at once, spares a run per task.
    """
    problems = [_unsplit(task, *size, train_fraction) for task, size in sizes.items()]
    found = [problem for problem in problems if problem is not None]
    if found:
        raise ConfigError("; ".join(found))


def _unsplit(task: str, train: int, test: int, prompts: int, train_fraction: float) -> str | None:
    if train and test:
        return None
    counted = f"task {task!r} has {_count(train + test, 'record')} ({_count(prompts, 'prompt')})"
    if prompts == 1:
        return (
            f"{counted}: no --train-fraction splits a single prompt into train and test "
            "records (copies of a prompt stay on one side); record more questions for it, "
            "or give its records another task's label"
        )
    return (
        f"{counted}: a train fraction of {train_fraction} leaves it {train} train and "
        f"{test} test records; record more questions or change --train-fraction"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def with_split(
    policy: Policy, records: Sequence[OutcomeRecord] | str, train_fraction: float, seed: int
) -> Policy:
    """The policy with the split it was calibrated on recorded in its metadata.

    ``records`` are the file's records, or their `records_digest` already computed.
    """
    digest = records if isinstance(records, str) else records_digest(records)
    split = {"train_fraction": train_fraction, "seed": seed, "records": digest, **BY_PROMPT}
    return Policy(tasks=policy.tasks, meta={**policy.meta, SPLIT_KEY: split})


def replay_split(policy: Policy, records: Sequence[OutcomeRecord]) -> Split:
    """(train, test): the recorded split on the calibration file, else ([], every record)."""
    split = policy.meta.get(SPLIT_KEY)
    if not isinstance(split, dict) or split.get("records") != records_digest(records):
        return [], list(records)
    by_prompt = all(split.get(key) == value for key, value in BY_PROMPT.items())
    return split_records(
        records, float(split["train_fraction"]), int(split["seed"]), by_prompt=by_prompt
    )


def records_digest(records: Sequence[OutcomeRecord]) -> str:
    """A digest of a file's questions (ids and prompts), independent of line order."""
    return digest_of([record.id for record in records], [record_key(r) for r in records])


def digest_of(ids: Sequence[str], prompt_keys: Sequence[str]) -> str:
    """`records_digest` from the records' ids and prompt keys (`replay.record_key`)."""
    keys = sorted(f"{id_}\t{key}" for id_, key in zip(ids, prompt_keys, strict=True))
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


def figures_report(
    *,
    policy: Policy,
    train: Sequence[OutcomeRecord],
    test: Sequence[OutcomeRecord],
    routed: Figures,
    cost_of: CostFunction,
    policy_path: Path | None = None,
) -> dict[str, Any]:
    """The JSON object of ``calibrate --json`` (README, Calibration).

    The baseline is chosen on ``train`` when given.
    """
    tested = OutcomeMatrix.of(test, cost_of)
    chosen_on = OutcomeMatrix.of(train, cost_of) if train else tested
    return matrices_report(
        policy=policy,
        train_size=len(train),
        tested=tested,
        chosen_on=chosen_on,
        routed=routed,
        policy_path=policy_path,
    )


def matrices_report(
    *,
    policy: Policy,
    train_size: int,
    tested: OutcomeMatrix,
    chosen_on: OutcomeMatrix,
    routed: Figures,
    policy_path: Path | None = None,
) -> dict[str, Any]:
    """`figures_report` from the test matrix and the matrix the baseline is chosen on."""
    baseline_model = best_single_model(chosen_on)
    baseline = single_model_figures(tested)[baseline_model]  # its cost the ledger's sum
    oracle = oracle_figures(tested)
    return {
        "train_size": train_size,
        "test_size": tested.size,
        "policy": describe_policy(policy, policy_path),
        "test": routed.to_json(),
        "baseline": {"model": baseline_model, **_quality_cost(baseline)},
        "oracle": _quality_cost(oracle),
        "savings_pct": savings_pct(routed.cost_usd, baseline.cost_usd),
    }


def describe_policy(policy: Policy, path: Path | None = None) -> dict[str, Any]:
    """The readable part of a policy: tiers, rule kinds and thresholds (no weights).

    Thresholds are the stored floats, unrounded: a rounded one (8.9e-9 as 0.0) would
    describe a policy that routes differently (`threshold_text` prints them).
    """
    tasks = {
        task: {
            "tiers": list(spec.tiers),
            "rules": [{"kind": rule.kind, "threshold": rule.threshold} for rule in spec.rules],
            "train": dict(spec.train),
        }
        for task, spec in sorted(policy.tasks.items())
    }
    return {"path": None if path is None else str(path), "tasks": tasks}


def threshold_text(threshold: float) -> str:
    """The shortest decimal that reads back as ``threshold``: it routes exactly as stored."""
    return repr(float(threshold))


def _quality_cost(figures: Figures) -> dict[str, float]:
    """Quality to 6 decimals; the cost unrounded: the ledger's sum (`money.ledger_sum`),
    as the routed cost is, so a policy that is the baseline saves exactly 0.00%."""
    return {"quality": round(figures.quality, 6), "cost_usd": figures.cost_usd}
