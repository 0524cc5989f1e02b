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


def crossing(*sides: Iterable[OutcomeRecord]) -> set[str]:
    """The prompt keys (`replay.record_key`) found on more than one side."""
    keys = [{record_key(record) for record in side} for side in sides]
    return {key for i, one in enumerate(keys) for other in keys[i + 1 :] for key in one & other}


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
