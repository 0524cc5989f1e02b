"""`evaluate.simulate_policy` decides every record as the router's checks decide it.

It ran each record through `runtime.check_for`'s checks one at a time (messages built,
the pair's features hashed again for every policy); it now decides a batch of records
at once (`_batch_stages.cascade_stages`). The per-record checks, run through
`simulate_cascade` as simulate_policy ran them before, are the reference here: the
figures must be equal, calls in the same order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.calibration import evaluate
from langchain_costrouter.calibration.evaluate import (
    AnswerScore,
    Figures,
    OutcomeMatrix,
    combine,
    simulate_cascade,
    simulate_policy,
)
from langchain_costrouter.calibration.features import query_text
from langchain_costrouter.calibration.policy import Policy, StageRule, TaskPolicy
from langchain_costrouter.calibration.runtime import check_for
from langchain_costrouter.calibration.stack import LOGPROB_KEYS
from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.outcomes import OutcomeRecord
from tests.unit_tests.calibration.test_vector_replay import policies, scorer
from tests.unit_tests.cli.outcome_files import CHEAP, DEAR, TASKS, synthetic_records

SHAPES = ["scorer", "stacked", "agreement", "first agreement", "single"]


def router_rule(check: QualityCheck) -> AnswerScore:
    """A stage rule as simulate_policy ran it before: the router's check on one record."""

    def score(record: OutcomeRecord, stage: int, answers: Sequence[AIMessage]) -> float:
        messages = [HumanMessage(m["content"]) for m in record.messages]
        return check.evaluate(messages, answers[-1], previous=answers[:-1]).score

    return score


def per_record(policy: Policy, records: list[OutcomeRecord]) -> Figures:
    """simulate_policy's figures as it computed them before, record by record."""
    parts = []
    for task in sorted({record.task for record in records}):
        spec = policy.tasks[task]
        matrix = OutcomeMatrix.of([r for r in records if r.task == task])
        rules = [router_rule(check_for(rule)) for rule in spec.rules]
        thresholds = [rule.threshold for rule in spec.rules]
        parts.append(simulate_cascade(matrix, spec.tiers, rules, thresholds))
    return combine(parts)


def assert_same(policy: Policy, records: list[OutcomeRecord]) -> Figures:
    expected = per_record(policy, records)
    figures = simulate_policy(policy, records)
    assert figures == expected
    assert list(figures.calls_by_model) == list(expected.calls_by_model)
    return figures


@pytest.mark.parametrize("shape", SHAPES)
def test_every_rule_decides_as_the_router_s_check(shape: str) -> None:
    records = synthetic_records(300)
    figures = assert_same(policies(records)[shape], records)
    if shape != "single":
        assert len(figures.calls_by_model) > 1  # some records escalated: a real comparison
        assert figures.calls_by_model[CHEAP] > max(figures.calls_by_model.values()) / 2


@pytest.mark.parametrize("shape", ["stacked", "agreement"])
def test_batches_decide_as_one(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    records = synthetic_records(100)
    monkeypatch.setattr(evaluate, "BATCH_ROWS", 7)
    assert_same(policies(records)[shape], records)


def with_logprobs(records: list[OutcomeRecord]) -> list[OutcomeRecord]:
    """Two thirds of the answers carry a summary of more digits than a replayed message keeps."""
    rng = random.Random(4)
    changed = []
    for record in records:
        outcomes = {}
        for model, outcome in record.outcomes.items():
            low = rng.uniform(-5.0, 0.0)
            summary = LogprobSummary(low / 3, low, 4) if rng.random() < 2 / 3 else None
            outcomes[model] = replace(outcome, logprobs=summary)
        changed.append(replace(record, outcomes=outcomes))
    return changed


def test_logprobs_are_read_as_the_router_reads_a_replayed_answer() -> None:
    """The router's check reads the summary off the answer message, rounded to 6 digits."""
    records = with_logprobs(synthetic_records(300))
    plain = policies(records)["stacked"]
    rng = random.Random(5)
    rules = []
    for rule in plain.tasks[TASKS[0]].rules:
        assert rule.scorer is not None
        extended = {key: rng.gauss(0.0, 1.0) for key in LOGPROB_KEYS}
        rules.append(replace(rule, scorer=replace(rule.scorer, logprob_stack=extended)))
    spec = replace(plain.tasks[TASKS[0]], rules=tuple(rules))
    figures = assert_same(Policy(tasks=dict.fromkeys(TASKS, spec)), records)
    assert figures != simulate_policy(plain, records)  # the summaries changed decisions


def test_a_score_on_the_threshold_is_accepted_as_the_router_accepts_it() -> None:
    records = synthetic_records(120)
    first = scorer(records, CHEAP, 1, stacked=False)
    for row in (5, 17):
        query = query_text(m["content"] for m in records[row].messages)
        threshold = first.score(query, records[row].outcomes[CHEAP].text or "")
        spec = TaskPolicy(tiers=(CHEAP, DEAR), rules=(StageRule("scorer", threshold, first),))
        policy = Policy(tasks=dict.fromkeys(TASKS, spec))
        assert_same(policy, records)
        single = simulate_policy(policy, [records[row]])
        assert single.calls_by_model == {CHEAP: 1}  # accepted: its score is the threshold


def test_a_summary_is_read_rounded_as_the_replayed_message_carries_it() -> None:
    """On the threshold the router's score sets, the unrounded summary would decide otherwise."""
    records = with_logprobs(synthetic_records(120))
    base = scorer(records, CHEAP, 1, stacked=True)
    first = replace(base, logprob_stack=dict.fromkeys(LOGPROB_KEYS, 1.0))
    for record in records:
        summary = record.outcomes[CHEAP].logprobs
        if summary is None:
            continue
        query = query_text(m["content"] for m in record.messages)
        answer = record.outcomes[CHEAP].text or ""
        replayed = LogprobSummary.from_json(summary.to_json())
        threshold = first.score(query, answer, (), replayed)
        if first.score(query, answer, (), summary) < threshold:
            break
    else:
        pytest.fail("no summary whose rounding lowers its score")
    spec = TaskPolicy(tiers=(CHEAP, DEAR), rules=(StageRule("scorer", threshold, first),))
    policy = Policy(tasks=dict.fromkeys(TASKS, spec))
    assert simulate_policy(policy, [record]).calls_by_model == {CHEAP: 1}
    assert_same(policy, records)
