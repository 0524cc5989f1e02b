"""Records that repeat a prompt with different outcomes, as own traffic does."""

from __future__ import annotations

from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
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
