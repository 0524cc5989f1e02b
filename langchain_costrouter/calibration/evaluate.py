"""Pure figures over recorded outcomes: splits, single models, the oracle, a policy.

Nothing here calls a model. The search uses these functions to score candidate
cascades on the train split; the CLI uses the same figures for its JSON (README,
Calibration: ``quality``, ``cost_usd``, ``calls_by_model``, ``baseline``, ``oracle``,
``savings_pct``), while the authoritative test figures come from running the real
router over replay children.

The figures run on an `OutcomeMatrix` (calibration/_outcome_matrix.py, with the
`CostFunction` that prices its rows), which stays importable from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from langchain_core.messages import AIMessage

from langchain_costrouter.calibration._batch_stages import cascade_stages
from langchain_costrouter.calibration._outcome_matrix import CostFunction as CostFunction
from langchain_costrouter.calibration._outcome_matrix import OutcomeMatrix as OutcomeMatrix
from langchain_costrouter.calibration._outcome_matrix import recorded_cost as recorded_cost
from langchain_costrouter.calibration.arrays import batches
from langchain_costrouter.calibration.features import FloatArray, IntArray
from langchain_costrouter.calibration.groups import split_groups
from langchain_costrouter.calibration.money import ledger_float
from langchain_costrouter.calibration.policy import Policy, TaskPolicy
from langchain_costrouter.calibration.runtime import check_for
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.dollars import rounded_percent
from langchain_costrouter.logprobs import SUMMARY_KEY, message_logprobs
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.replay import record_key

AnswerScore = Callable[[OutcomeRecord, int, Sequence[AIMessage]], float]
"""A stage rule at simulation time: (record, stage, answers so far) -> score in [0, 1]."""
BATCH_ROWS = 4096
"""Records `simulate_policy` decides at once: bounds the memory of a batch's features."""


@dataclass(frozen=True)
class Figures:
    """Quality and cost of a way of answering a set of records."""

    quality: float
    cost_usd: float
    size: int
    calls_by_model: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """Quality to 6 decimals; the cost as it is, unrounded: the routed cost is the
        ledger's exact sum (`money.ledger_float`) and must read back as it."""
        return {
            "quality": round(self.quality, 6),
            "cost_usd": self.cost_usd,
            "calls_by_model": dict(sorted(self.calls_by_model.items())),
        }


def split_records(
    records: Sequence[OutcomeRecord], train_fraction: float, seed: int, *, by_prompt: bool = True
) -> tuple[list[OutcomeRecord], list[OutcomeRecord]]:
    """A deterministic train/test split by seed, stratified by task label.

    Copies of a prompt land on one side (`groups.split_groups`); ``by_prompt=False``
    splits row by row, as policies calibrated before prompt groups were (`report`).
    """
    check_train_fraction(train_fraction)
    train: list[OutcomeRecord] = []
    test: list[OutcomeRecord] = []
    rng = np.random.default_rng(seed)
    for task in sorted({record.task for record in records}):
        members = [record for record in records if record.task == task]
        keys = [record_key(m) for m in members] if by_prompt else range(len(members))
        kept, held = split_groups(keys, train_fraction, rng)
        train.extend(members[i] for i in kept)
        test.extend(members[i] for i in held)
    return train, test


def check_train_fraction(train_fraction: float) -> None:
    """Refuse a train fraction that leaves no train or no test records."""
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train fraction must be in (0, 1), got {train_fraction}")


def single_model_figures(matrix: OutcomeMatrix) -> dict[str, Figures]:
    """Always-this-model figures for every model, costs summed as its ledger would."""
    size = matrix.size
    return {
        name: Figures(
            quality=float(matrix.quality[:, i].mean()),
            cost_usd=ledger_float(matrix.cost[:, i]),
            size=size,
            calls_by_model={name: size},
        )
        for i, name in enumerate(matrix.models)
    }


def best_single_model(matrix: OutcomeMatrix) -> str:
    """The highest-quality single model (the cheaper one on a tie)."""
    figures = single_model_figures(matrix)
    return max(matrix.models, key=lambda m: (figures[m].quality, -figures[m].cost_usd))


def oracle_figures(matrix: OutcomeMatrix) -> Figures:
    """Per query, the cheapest model with the best score: an upper bound on quality.

    Its cost is summed as a ledger would sum those calls (`money.ledger_float`).
    """
    best = matrix.quality.max(axis=1, keepdims=True)
    cheapest = np.where(matrix.quality >= best, matrix.cost, np.inf).argmin(axis=1)
    rows = np.arange(matrix.size)
    return Figures(
        quality=float(best.mean()),
        cost_usd=ledger_float(matrix.cost[rows, cheapest]),
        size=len(rows),
        calls_by_model=_count(matrix.models[i] for i in cheapest),
    )


def simulate_cascade(
    matrix: OutcomeMatrix,
    tiers: Sequence[str],
    rules: Sequence[AnswerScore],
    thresholds: Sequence[float],
) -> Figures:
    """Run one cascade over recorded outcomes: pay every tier tried, keep the accepted one.

    ``rules[k]`` and ``thresholds[k]`` decide on tier ``k``'s answer; the last tier
    is always accepted. The cost is what the ledger of those calls would sum.
    """
    columns = [matrix.models.index(model) for model in tiers]
    total_quality, paid = 0.0, []
    calls: Counter[str] = Counter()
    for row, record in enumerate(matrix.records):
        answers: list[AIMessage] = []
        for stage, column in enumerate(columns):
            answers.append(answer_message(record.outcomes[tiers[stage]]))
            paid.append(float(matrix.cost[row, column]))
            calls[tiers[stage]] += 1
            last = stage == len(columns) - 1
            if last or rules[stage](record, stage, answers) >= thresholds[stage]:
                total_quality += float(matrix.quality[row, column])
                break
    size = len(matrix.records)
    return Figures(total_quality / size, ledger_float(paid), size, dict(calls))


def combine(parts: Iterable[Figures]) -> Figures:
    """Figures of several tasks together (quality weighted by record count)."""
    items = list(parts)
    size = sum(part.size for part in items)
    calls: Counter[str] = Counter()
    for part in items:
        calls.update(part.calls_by_model)
    quality = sum(part.quality * part.size for part in items) / max(size, 1)
    return Figures(quality, ledger_float(part.cost_usd for part in items), size, dict(calls))


def savings_pct(cost: float, baseline_cost: float) -> float:
    """Percent saved against the baseline's cost (0 when the baseline is free), to hundredths.

    The costs are exact sums carried as floats (`money.ledger_float`: the shortest repr
    is the sum), so the saving is theirs rounded once, as SQL rounds (half away from
    zero; `dollars.rounded_percent`); float arithmetic made 12.345% 12.34. A loss of less
    than half a hundredth of a point is 0.0, not "-0.00%".
    """
    if baseline_cost <= 0:
        return 0.0
    baseline = Decimal(repr(float(baseline_cost)))
    return float(rounded_percent(baseline - Decimal(repr(float(cost))), baseline, 2))


def _count(names: Iterable[str]) -> dict[str, int]:
    return dict(Counter(names))


def simulate_policy(
    policy: Policy, records: Sequence[OutcomeRecord], cost_of: CostFunction = recorded_cost
) -> Figures:
    """Figures of a policy over records, with the same checks the router runs.

    Records are decided in batches (`_batch_stages.cascade_stages`), each as the router's
    check would decide it: sent one at a time through `runtime.check_for`'s checks, 60
    policies on 5,000 records took most of a minute
    (tests/unit_tests/calibration/test_saving_interval.py).
    """
    parts = []
    for task in sorted({record.task for record in records}):
        spec = policy.tasks.get(task)
        if spec is None:
            raise ConfigError(f"policy has no cascade for task {task!r}", key="tasks")
        matrix = OutcomeMatrix.of([r for r in records if r.task == task], cost_of)
        for rule in spec.rules:
            check_for(rule)  # a rule the router cannot run is refused, as the router would
        parts.append(_simulate_task(matrix, spec))
    return combine(parts)


def _simulate_task(matrix: OutcomeMatrix, spec: TaskPolicy) -> Figures:
    """`simulate_cascade` of one task's cascade, its rules deciding in batches."""
    columns = np.array([matrix.models.index(model) for model in spec.tiers])
    stages = _served_stages(matrix, spec, columns[: len(spec.rules)].tolist())
    total_quality = 0.0  # summed row by row, as the record-by-record replay summed it
    for value in matrix.quality[np.arange(matrix.size), columns[stages]].tolist():
        total_quality += value
    paid = matrix.cost[:, columns][np.arange(len(columns))[None, :] <= stages[:, None]]
    calls: Counter[str] = Counter()
    for stage, tier in enumerate(spec.tiers):
        calls[tier] += int(np.count_nonzero(stages >= stage))
    calls = +calls  # a tier no record reached was never called
    size = matrix.size
    return Figures(total_quality / size, ledger_float(paid.tolist()), size, dict(calls))


def _served_stages(matrix: OutcomeMatrix, spec: TaskPolicy, scored: list[int]) -> IntArray:
    """Per row, the stage that serves it; ``scored`` are the columns the rules score."""
    queries = matrix.query_texts()
    answers = [matrix.answers(column) for column in scored]
    logprobs = None
    if matrix.logprobs is not None:
        logprobs = [_replayed_logprobs(matrix, matrix.models[column]) for column in scored]
    stages = np.zeros(matrix.size, dtype=np.int64)
    for chunk in batches(range(matrix.size), BATCH_ROWS):
        rows = np.asarray(chunk, dtype=np.int64)
        at = rows.tolist()
        stages[rows] = cascade_stages(
            spec.rules,
            [queries[i] for i in at],
            [[tier[i] for i in at] for tier in answers],
            None if logprobs is None else [tier[rows] for tier in logprobs],
        )
    return stages


def _replayed_logprobs(matrix: OutcomeMatrix, model: str) -> FloatArray:
    """[rows, 2] the model's answers' summaries as the router's check reads them off the
    replayed answer message (rounded there, `logprobs.LogprobSummary.to_json`); NaN: none."""
    pairs = np.full((matrix.size, 2), np.nan)
    for row, record in enumerate(matrix.records):
        outcome = record.outcomes[model]
        summary = None if outcome.logprobs is None else message_logprobs(answer_message(outcome))
        if summary is not None:
            pairs[row] = (summary.mean, summary.min)
    return pairs


def answer_message(outcome: ModelOutcome) -> AIMessage:
    """A recorded answer as the router's check sees it: the text and, when recorded, the
    log-probability summary where `ReplayChatModel` puts it."""
    metadata = {} if outcome.logprobs is None else {SUMMARY_KEY: outcome.logprobs.to_json()}
    return AIMessage(outcome.text or "", response_metadata=metadata)
