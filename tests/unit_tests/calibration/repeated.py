"""Records that repeat a prompt with different outcomes, as own traffic does."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.replay import record_key
from tests.unit_tests.cli.outcome_files import CHEAP, DEAR, MIDDLE


def asked_twice() -> list[OutcomeRecord]:
    """Two records of one prompt whose middle tier answers, scores and costs differ."""

    def record(record_id: str, middle: str, score: float, cost: float) -> OutcomeRecord:
        outcomes = {
            CHEAP: ModelOutcome(0.0, "Yes", 0.001),
            MIDDLE: ModelOutcome(score, middle, cost),
            DEAR: ModelOutcome(1.0, "Yes", 0.5),
        }
        prompt = ({"role": "user", "content": "Is it overruled?"},)
        return OutcomeRecord(record_id, "sentiment", prompt, outcomes)

    return [record("agrees", "Yes", 1.0, 0.02), record("differs", "No", 0.25, 0.07)]


AGREE_OR_ESCALATE = Policy(
    tasks={
        "sentiment": TaskPolicy(
            tiers=(CHEAP, MIDDLE, DEAR),
            rules=(StageRule("agreement", 1.0), StageRule("agreement", 1.0)),
        )
    }
)
"""The middle tier is accepted when its answer agrees with the cheap one's."""


def with_copies(records: Sequence[OutcomeRecord], seed: int = 0) -> list[OutcomeRecord]:
    """``records`` with every third prompt asked again once or twice (own ids, the same
    task and outcomes), the copies scattered through the file as own traffic has them."""
    rng = random.Random(seed)
    copied = list(records)
    for index, record in enumerate(records[::3]):
        for copy in range(1 + index % 2):
            twin = replace(record, id=f"{record.id}-again{copy}")
            copied.insert(rng.randrange(len(copied) + 1), twin)
    return copied


def memorised(prompts: int, copies: int, seed: int, task: str = "qa") -> list[OutcomeRecord]:
    """Prompts of unique words whose cheap answer ("Maybe") is right on a coin flip.

    Nothing in a prompt or an answer tells right from wrong, so only a scorer that has
    seen a copy of the prompt can tell: on new prompts no rule beats chance.
    """
    rng = random.Random(seed)
    records = []
    for index in range(prompts):
        right = rng.random() < 0.6
        words = " ".join(f"w{seed}x{rng.randrange(10**9)}" for _ in range(3))
        outcomes = {
            "cheap": ModelOutcome(float(right), "Maybe", cost_usd=0.001),
            "strong": ModelOutcome(1.0, "Yes", cost_usd=0.03),
        }
        prompt = ({"role": "user", "content": f"Tell me about {words}"},)
        records += [
            OutcomeRecord(f"s{seed}p{index}c{copy}", task, prompt, outcomes)
            for copy in range(copies)
        ]
    rng.shuffle(records)
    return records


def crossing(*sides: Iterable[OutcomeRecord]) -> set[str]:
    """The prompt keys (`replay.record_key`) found on more than one side."""
    keys = [{record_key(record) for record in side} for side in sides]
    return {key for i, one in enumerate(keys) for other in keys[i + 1 :] for key in one & other}


def split_groups(keys: Sequence[str], folds: Sequence[int]) -> set[str]:
    """The keys whose rows are given more than one fold."""
    seen: dict[str, set[int]] = {}
    for key, fold in zip(keys, folds, strict=True):
        seen.setdefault(key, set()).add(int(fold))
    return {key for key, found in seen.items() if len(found) > 1}


def row_split(
    records: Sequence[OutcomeRecord], train_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(train ids, test ids) as the split was made row by row, before prompt groups."""
    rng = np.random.default_rng(seed)
    train: list[str] = []
    test: list[str] = []
    for task in sorted({record.task for record in records}):
        members = [record for record in records if record.task == task]
        order = rng.permutation(len(members))
        cut = round(len(members) * train_fraction)
        train += [members[i].id for i in sorted(order[:cut])]
        test += [members[i].id for i in sorted(order[cut:])]
    return train, test
