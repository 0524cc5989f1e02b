"""The batched replay decides every row as the router does, and the check catches a lie.

Each policy here is run both ways on the same records: `run.run_records` through
`RoutedChatModel` (the product's path) and `vector_replay` over the columns. Served
tiers, figures and the sampled check must agree; a wrong batched answer must raise.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy
from langchain_costrouter.calibration.features import query_text, text_features
from langchain_costrouter.calibration.replay_check import check_sample
from langchain_costrouter.calibration.run import (
    RunSummary,
    outcome_cost,
    replay_router,
    run_records,
)
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.calibration.stack import LOGPROB_KEYS, STACK_KEYS
from langchain_costrouter.calibration.table import OutcomeTable, read_outcome_table
from langchain_costrouter.calibration.vector_replay import (
    replay_stages,
    routed_figures,
    served_columns,
)
from langchain_costrouter.errors import ReplayMismatchError
from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.outcomes import OutcomeRecord, read_outcomes, write_outcomes
from tests.unit_tests.calibration.repeated import AGREE_OR_ESCALATE, asked_twice
from tests.unit_tests.cli.outcome_files import CHEAP, DEAR, MIDDLE, TASKS, write_file


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_file(tmp_path_factory.mktemp("vector") / "evals.jsonl", size=120)


def scorer(records: list[OutcomeRecord], model: str, seed: int, stacked: bool) -> LinearScorer:
    """Random weights on every bucket these records use: scores spread over (0, 1)."""
    rng = random.Random(seed)
    buckets: set[int] = set()
    for record in records:
        query = query_text(m["content"] for m in record.messages)
        indices, _ = text_features(query, record.outcomes[model].text or "")
        buckets.update(int(i) for i in indices)
    weights = {bucket: rng.gauss(0.0, 1.0) for bucket in sorted(buckets)}
    stack = {key: rng.gauss(0.0, 1.0) for key in STACK_KEYS} if stacked else None
    previous = LinearScorer(weights=weights, bias=0.1) if stacked else None
    return LinearScorer(weights=weights, bias=-0.2, stack=stack, previous=previous)


def policies(records: list[OutcomeRecord]) -> dict[str, Policy]:
    first = scorer(records, CHEAP, 1, stacked=False)
    second = scorer(records, MIDDLE, 2, stacked=True)
    three = (CHEAP, MIDDLE, DEAR)
    shapes = {
        "scorer": TaskPolicy(tiers=(CHEAP, DEAR), rules=(StageRule("scorer", 0.5, first),)),
        "stacked": TaskPolicy(
            tiers=three, rules=(StageRule("scorer", 0.4, first), StageRule("scorer", 0.5, second))
        ),
        "agreement": TaskPolicy(
            tiers=three, rules=(StageRule("scorer", 0.6, first), StageRule("agreement", 1.0))
        ),
        "first agreement": TaskPolicy(tiers=(CHEAP, DEAR), rules=(StageRule("agreement", 1.0),)),
        "single": TaskPolicy(tiers=(MIDDLE,), rules=()),
    }
    return {name: Policy(tasks=dict.fromkeys(TASKS, spec)) for name, spec in shapes.items()}


def both_ways(policy: Policy, path: Path) -> tuple[OutcomeTable, list[tuple[int, ...]], list[str]]:
    """The batched tiers paid per record, and the router's served model per record."""
    records = read_outcomes(path)
    table = read_outcome_table(path, outcome_cost(), show=False)
    rows = np.arange(len(records))
    paid = served_columns(policy, table, rows, replay_stages(policy, table, rows, show=False))
    calls = run_records(replay_router(policy, records), records)
    batched = routed_figures(table, rows, paid)
    assert batched == RunSummary.of(calls).figures()
    assert [table.arrays.models[p[-1]] for p in paid] == [call.model for call in calls]
    return table, paid, [call.model for call in calls]


@pytest.mark.parametrize("shape", ["scorer", "stacked", "agreement", "first agreement", "single"])
def test_batched_replay_serves_what_the_router_serves(path: Path, shape: str) -> None:
    policy = policies(read_outcomes(path))[shape]
    table, paid, served = both_ways(policy, path)
    if shape in ("scorer", "stacked", "agreement"):
        assert len(set(served)) > 1  # the rule both accepts and escalates: a real test
    rows = np.arange(len(table))
    assert check_sample(policy, path, table, rows, paid, seed=3, show=False, size=50) == 50


def test_a_score_on_the_threshold_is_decided_by_the_scorer_itself(path: Path) -> None:
    records = read_outcomes(path)
    first = scorer(records, CHEAP, 1, stacked=False)
    query = query_text(m["content"] for m in records[5].messages)
    threshold = first.score(query, records[5].outcomes[CHEAP].text or "")
    spec = TaskPolicy(tiers=(CHEAP, DEAR), rules=(StageRule("scorer", threshold, first),))
    _, paid, _ = both_ways(Policy(tasks=dict.fromkeys(TASKS, spec)), path)
    assert len(paid[5]) == 1  # accepted: score >= threshold exactly, as the router decides


def test_a_wrong_batched_answer_raises(path: Path) -> None:
    policy = policies(read_outcomes(path))["scorer"]
    table = read_outcome_table(path, outcome_cost(), show=False)
    rows = np.arange(len(table))
    paid = served_columns(policy, table, rows, replay_stages(policy, table, rows, show=False))
    cheap, dear = table.arrays.models.index(CHEAP), table.arrays.models.index(DEAR)
    flipped = [(cheap,) if len(p) == 2 else (cheap, dear) for p in paid]
    with pytest.raises(ReplayMismatchError, match="replay check failed on record") as caught:
        check_sample(policy, path, table, rows, flipped, seed=0, show=False, size=20)
    assert caught.value.field == "model"
    assert caught.value.router != caught.value.batched


def with_logprobs(path: Path, target: Path) -> Path:
    """The file's records with random log-probability summaries on two thirds of the answers."""
    rng = random.Random(4)
    records = []
    for record in read_outcomes(path):
        outcomes = {}
        for model, outcome in record.outcomes.items():
            low = rng.uniform(-5.0, 0.0)
            summary = LogprobSummary(low / 4, low, 4) if rng.random() < 2 / 3 else None
            outcomes[model] = replace(outcome, logprobs=summary)
        records.append(replace(record, outcomes=outcomes))
    write_outcomes(target, records)
    return target


def test_batched_replay_reads_logprobs_as_the_router_does(path: Path, tmp_path: Path) -> None:
    """Rows with and without log-probabilities: the batched replay and the router agree."""
    logprob_path = with_logprobs(path, tmp_path / "logprobs.jsonl")
    records = read_outcomes(logprob_path)
    rng = random.Random(5)
    policy = policies(records)["stacked"]
    rules = []
    for rule in policy.tasks[TASKS[0]].rules:
        assert rule.scorer is not None
        extended = {key: rng.gauss(0.0, 1.0) for key in LOGPROB_KEYS}
        rules.append(replace(rule, scorer=replace(rule.scorer, logprob_stack=extended)))
    spec = replace(policy.tasks[TASKS[0]], rules=tuple(rules))
    policy = Policy(tasks=dict.fromkeys(TASKS, spec))
    table, paid, served = both_ways(policy, logprob_path)
    assert table.logprobs is not None and np.isnan(table.logprobs).any()
    assert len(set(served)) > 1
    rows = np.arange(len(table))
    assert check_sample(policy, logprob_path, table, rows, paid, seed=3, show=False, size=50) == 50
    plain = Policy(tasks=dict.fromkeys(TASKS, policies(records)["stacked"].tasks[TASKS[0]]))
    _, plain_paid, _ = both_ways(plain, logprob_path)
    assert plain_paid != paid  # the log-probability stacks changed decisions


def test_a_repeated_prompt_is_decided_and_charged_by_its_own_row(tmp_path: Path) -> None:
    path = tmp_path / "twice.jsonl"
    write_outcomes(path, asked_twice())
    table, paid, served = both_ways(AGREE_OR_ESCALATE, path)
    assert served == [MIDDLE, DEAR]  # the first row's middle answer agrees, the second's not
    figures = routed_figures(table, np.arange(2), paid)
    assert figures.cost_usd == pytest.approx(0.021 + 0.571)
    assert figures.quality == 1.0
    rows = np.arange(2)
    assert check_sample(AGREE_OR_ESCALATE, path, table, rows, paid, seed=0, show=False) == 2
