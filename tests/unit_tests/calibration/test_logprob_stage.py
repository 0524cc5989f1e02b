"""Token log-probabilities as a scorer feature: kept when they pay off out of fold, only then."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    simulate_policy,
    split_records,
)
from langchain_costrouter.calibration.logprob_stage import MIN_ROWS, logprob_scores, pays_off
from langchain_costrouter.calibration.oof import StageScores
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.runtime import LearnedScorerCheck
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.calibration.search import calibrate
from langchain_costrouter.logprobs import SUMMARY_KEY, LogprobSummary
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord

Summary = Callable[[random.Random, bool], LogprobSummary | None]


def informative(rng: random.Random, right: bool) -> LogprobSummary:
    """A model that knows when it guesses: wrong answers have a doubtful token."""
    low = rng.uniform(-0.3, -0.01) if right else rng.uniform(-4.0, -1.0)
    return LogprobSummary(mean=low / 3, min=low, tokens=3)


def noise(rng: random.Random, right: bool) -> LogprobSummary:
    """Log-probabilities that say nothing about the answer."""
    low = rng.uniform(-4.0, -0.01)
    return LogprobSummary(mean=low / 3, min=low, tokens=3)


def absent(rng: random.Random, right: bool) -> None:
    return None


def guessing_records(size: int, summary: Summary, seed: int = 0) -> list[OutcomeRecord]:
    """A cheap model right 70% of the time on questions whose text says nothing about it.

    The only signal of a wrong cheap answer is in its log-probabilities (when
    ``summary`` is `informative`); the strong model is always right at 20x the price.
    """
    rng = random.Random(seed)
    records = []
    for index in range(size):
        truth = rng.choice(["Yes", "No"])
        right = rng.random() < 0.7
        cheap = truth if right else ("No" if truth == "Yes" else "Yes")
        outcomes = {
            "cheap": ModelOutcome(float(right), cheap, 0.001, logprobs=summary(rng, right)),
            "strong": ModelOutcome(1.0, truth, 0.02, logprobs=informative(rng, True)),
        }
        question = {"role": "user", "content": f"Is claim {index} true?"}
        records.append(OutcomeRecord(f"g{index}", "guess", (question,), outcomes))
    return records


def _stage_uses_logprobs(records: list[OutcomeRecord]) -> bool:
    matrix = OutcomeMatrix.of(records)
    return StageScores.of(matrix, folds=5, seed=0).uses_logprobs(0, None)


def test_informative_logprobs_are_picked_up_and_pay() -> None:
    records = guessing_records(800, informative)
    assert _stage_uses_logprobs(records)
    train, test = split_records(records, 0.5, seed=1)
    # 400 train rows prove 2 points, not the default half point (about 650 questions
    # with no disagreement at all, calibration/bounds.py); the quality bar below holds it
    policy = calibrate(train, SearchOptions(seed=1, max_quality_loss=0.02))
    spec = policy.tasks["guess"]
    scorer = spec.rules[0].scorer
    assert spec.tiers == ("cheap", "strong")
    assert scorer is not None and scorer.logprob_stack is not None
    assert scorer.logprob_stack["logprob_min"] > 0  # a surer token, a likelier right answer
    routed = simulate_policy(policy, test)
    assert routed.quality >= 0.98  # the doubtful cheap answers escalate
    assert routed.calls_by_model["strong"] < 0.6 * len(test)  # and most sure ones stay cheap


@pytest.mark.parametrize("summary", [noise, absent], ids=["noise", "absent"])
def test_uninformative_logprobs_are_left_out(summary: Summary) -> None:
    records = guessing_records(800, summary)
    assert not _stage_uses_logprobs(records)
    policy = calibrate(records[:400], SearchOptions(seed=1))
    for rule in policy.tasks["guess"].rules:
        assert rule.scorer is None or rule.scorer.logprob_stack is None


def test_noise_is_rejected_on_most_seeds() -> None:
    """The paired 2-SE rule lets noise through rarely, not never: at most 1 in 10 here."""
    chosen = sum(_stage_uses_logprobs(guessing_records(400, noise, seed)) for seed in range(10))
    assert chosen <= 1


def test_few_rows_with_logprobs_are_not_tried() -> None:
    labels = np.tile([0.0, 1.0], MIN_ROWS)
    design = np.column_stack([np.zeros(len(labels))] * 5 + [np.ones(len(labels))])
    logprobs = np.full((len(labels), 2), np.nan)
    logprobs[: MIN_ROWS - 1] = [[-0.1, -0.2]]
    folds = np.arange(len(labels)) % 5
    assert logprob_scores(design, logprobs, labels, folds, np.full(len(labels), 0.5)) is None


def test_pays_off_needs_a_clear_gain() -> None:
    labels = np.tile([0.0, 1.0], 100)
    base = np.full(len(labels), 0.5)
    assert pays_off(base, np.where(labels > 0, 0.8, 0.2), labels)
    assert not pays_off(base, base, labels)
    assert not pays_off(base, np.where(labels > 0, 0.2, 0.8), labels)


def test_pays_off_counts_copies_of_a_prompt_once() -> None:
    # 60 prompts, each asked five times; log-probabilities lower the loss by 0.02 on
    # average, 0.1 from prompt to prompt: two standard errors are 0.026 over 60
    # prompts, but 0.0115 over 300 rows, which took the copies for new evidence.
    gains = np.random.default_rng(0).normal(size=60)
    gains = 0.02 + 0.1 * (gains - gains.mean()) / gains.std(ddof=1)
    labels, base = np.ones(60), np.full(60, 0.5)
    extended = 0.5 * np.exp(gains)  # its loss: -log(0.5) - gain
    assert not pays_off(base, extended, labels)
    groups = np.repeat(np.arange(60), 5)
    copied = (base[groups], extended[groups], labels[groups])
    assert pays_off(*copied)
    assert not pays_off(*copied, groups)


def _scorer() -> LinearScorer:
    stack = {"text": 1.0, "bias": 0.0}
    logprob_stack = {"text": 1.0, "bias": 2.0, "logprob_min": 1.0}
    return LinearScorer(weights={}, bias=0.0, stack=stack, logprob_stack=logprob_stack)


def test_runtime_reads_logprobs_from_the_answer_and_treats_missing_as_missing() -> None:
    check = LearnedScorerCheck(_scorer())
    question = [HumanMessage("Is claim 1 true?")]
    plain = check.evaluate(question, AIMessage("Yes")).score
    assert plain == pytest.approx(0.5)  # the plain stack, not the log-probability stack at 0
    zero_like = {SUMMARY_KEY: {"mean": 0.0, "min": 0.0, "tokens": 1}}
    assert check.evaluate(question, AIMessage("Yes", response_metadata=zero_like)).score == (
        pytest.approx(1 / (1 + np.exp(-2.0)))
    )
    doubtful = {"logprobs": {"content": [{"token": "Yes", "logprob": -4.0}]}}
    assert check.evaluate(question, AIMessage("Yes", response_metadata=doubtful)).score == (
        pytest.approx(1 / (1 + np.exp(2.0)))
    )


def test_logprob_stack_round_trips_through_json_and_old_files_load() -> None:
    scorer = _scorer()
    loaded = LinearScorer.from_json(scorer.to_json())
    assert loaded.logprob_stack is not None
    assert loaded.logprob_stack["logprob_min"] == 1.0
    assert loaded.logprob_stack["logprob_mean"] == 0.0
    old = scorer.to_json()
    del old["logprob_stack"]
    assert LinearScorer.from_json(old).logprob_stack is None
    summary = LogprobSummary(mean=-1.0, min=-2.0, tokens=2)
    assert loaded.score("q", "a", (), summary) == scorer.score("q", "a", (), summary)
    assert replace(loaded, logprob_stack=None).score("q", "a", (), summary) == pytest.approx(0.5)
