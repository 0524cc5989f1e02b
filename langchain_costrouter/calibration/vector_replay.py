"""The test split's replay computed over columns: which tier serves each row, in batches.

`run.run_records` sends every record through `RoutedChatModel` (about a millisecond a
record); at hundreds of thousands of rows that is most of a calibration. Here the same
decisions are computed for a batch of rows at once: per cascade stage, the policy's
check scores every still-open row (hashed features dotted with the scorer's weights,
the stack as in `scorer.LinearScorer.score`; agreement as in `runtime.TierAgreementCheck`)
and the rows whose score reaches the threshold stop there. A score within ``EXACT_BAND``
of its threshold is recomputed by the scorer's own per-row code, so rounding in the
batched arithmetic cannot flip a decision. `replay_check` then replays a random sample
through the router in every run and raises on any difference.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from langchain_costrouter.calibration._text_fit import SparseRows
from langchain_costrouter.calibration.arrays import batches
from langchain_costrouter.calibration.evaluate import Figures
from langchain_costrouter.calibration.features import (
    N_BUCKETS,
    FloatArray,
    IntArray,
    answer_key,
    keys_agreement,
)
from langchain_costrouter.calibration.logprob_stage import carries_logprobs
from langchain_costrouter.calibration.money import ledger_float
from langchain_costrouter.calibration.policy import Policy, StageRule, TaskPolicy
from langchain_costrouter.calibration.progress import Progress, bar
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.calibration.stack import (
    LOGPROB_KEYS,
    logprob_design,
    stack_design,
    stack_probabilities,
)
from langchain_costrouter.calibration.table import OutcomeTable
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary

EXACT_BAND = 1e-9
"""Scores this close to a threshold are recomputed row by row with the scorer's own code."""
BATCH_ROWS = 4096
"""Rows scored at once: bounds the memory of a batch's features."""


def replay_stages(
    policy: Policy, table: OutcomeTable, rows: IntArray, show: Progress
) -> npt.NDArray[np.int8]:
    """Per row of ``rows`` (table rows), the index of the tier that serves it in its cascade.

    Raises:
        ConfigError: the policy has no cascade for a task label of the table.
    """
    uncovered = sorted(set(table.arrays.tasks) - set(policy.tasks))
    if uncovered:
        raise ConfigError(
            f"the policy has no cascade for task labels {uncovered} of these records "
            f"(its tasks: {sorted(policy.tasks)}); calibrate on records with these labels"
        )
    stages = np.zeros(len(rows), dtype=np.int8)
    codes = table.arrays.task_codes[rows]
    with bar(len(rows), "replay", "rows", show) as progress:
        for chunk in batches(range(len(rows)), BATCH_ROWS):
            positions = np.asarray(chunk, dtype=np.int64)
            for code, task in enumerate(table.arrays.tasks):
                members = positions[codes[positions] == code]
                if len(members):
                    spec = policy.tasks[task]
                    stages[members] = _stages(spec, table, rows[members])
            progress.update(len(positions))
    return stages


def served_columns(
    policy: Policy, table: OutcomeTable, rows: IntArray, stages: npt.NDArray[np.int8]
) -> list[tuple[int, ...]]:
    """Per row, the table columns of the tiers it paid for, in order (the served one last)."""
    tiers = {
        task: [table.arrays.models.index(model) for model in spec.tiers]
        for task, spec in policy.tasks.items()
    }
    names = table.arrays.tasks
    codes = table.arrays.task_codes[rows].tolist()
    return [tuple(tiers[names[c]][: s + 1]) for c, s in zip(codes, stages.tolist(), strict=True)]


def routed_figures(table: OutcomeTable, rows: IntArray, paid: Sequence[tuple[int, ...]]) -> Figures:
    """`run.RunSummary.of(...).figures()` of the replay, summed the same way.

    Quality is the row's own score of the served model; cost the row's own recorded
    cost per tier paid (the replay answers each record with its own outcomes, even
    when another record asks the same prompt), one ledger row each, summed as the
    ledger sums its rows (`money.ledger_sum`).
    """
    scores, costs = table.arrays.scores, table.arrays.costs
    served = np.array([columns[-1] for columns in paid], dtype=np.int64)
    quality = scores[rows, served].tolist()
    calls: Counter[str] = Counter()
    for columns in paid:
        calls.update(table.arrays.models[c] for c in columns)
    attempts = np.fromiter(itertools.chain.from_iterable(paid), dtype=np.int64)
    attempted_rows = np.repeat(rows, [len(columns) for columns in paid])
    size = len(paid)
    cost = ledger_float(costs[attempted_rows, attempts])
    return Figures(sum(quality) / max(size, 1), cost, size, dict(calls))


def _stages(spec: TaskPolicy, table: OutcomeTable, table_rows: IntArray) -> IntArray:
    """Serving tier index per row: the first stage whose rule accepts, else the last."""
    columns = [table.arrays.models.index(model) for model in spec.tiers]
    stages = np.full(len(table_rows), len(columns) - 1, dtype=np.int64)
    open_rows = np.arange(len(table_rows))
    for stage, rule in enumerate(spec.rules):
        if not len(open_rows):
            break
        rows = table_rows[open_rows].tolist()
        queries = [table.queries[r] for r in rows]
        answers = [[table.answers[c][r] for r in rows] for c in columns[: stage + 1]]
        logprobs = None if table.logprobs is None else table.logprobs[rows, columns[stage]]
        accept = _accepts(rule, queries, answers, logprobs)
        stages[open_rows[accept]] = stage
        open_rows = open_rows[~accept]
    return stages


def _accepts(
    rule: StageRule, queries: list[str], answers: list[list[str]], logprobs: FloatArray | None
) -> npt.NDArray[np.bool_]:
    """Whether ``rule`` accepts the last of ``answers`` (earlier ones are the lower tiers).

    ``logprobs`` [rows, 2] are the last answers' log-probability summaries (NaN: none).
    """
    if rule.kind == "agreement":
        scores = _agreement(answers)
    elif rule.scorer is not None:
        scores = _scorer(rule.scorer, queries, answers, logprobs)
        near = np.flatnonzero(np.abs(scores - rule.threshold) <= EXACT_BAND)
        for i in near.tolist():
            previous = [tier[i] for tier in answers[:-1]]
            summary = None if logprobs is None else _summary(logprobs[i])
            scores[i] = rule.scorer.score(queries[i], answers[-1][i], previous, summary)
    else:
        raise ConfigError(f"no run-time check for rule kind {rule.kind!r}", key="rules")
    return np.asarray(scores >= rule.threshold)


def _agreement(answers: list[list[str]]) -> FloatArray:
    """`runtime.TierAgreementCheck`: 1.0 when the answer's key equals the previous tier's."""
    if len(answers) < 2:
        return np.zeros(len(answers[-1]))
    pairs = zip(answers[-1], answers[-2], strict=True)
    agree = [_agree(answer_key(a), answer_key(b)) for a, b in pairs]
    return np.array(agree, dtype=np.float64)


def _agree(key: str | None, previous_key: str | None) -> float:
    return 1.0 if key is not None and previous_key is not None and key == previous_key else 0.0


def _summary(pair: FloatArray) -> LogprobSummary | None:
    """The scorer's input from a [mean, min] row (it reads no token count)."""
    if np.isnan(pair).any():
        return None
    return LogprobSummary(mean=float(pair[0]), min=float(pair[1]), tokens=1)


def _scorer(
    scorer: LinearScorer,
    queries: list[str],
    answers: list[list[str]],
    logprobs: FloatArray | None = None,
) -> FloatArray:
    """`LinearScorer.score` of every row at once."""
    logits = _text_logits(scorer, queries, answers[-1])
    if scorer.stack is None:
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30))), dtype=np.float64)
    previous_logits = np.zeros(len(queries))
    relations = np.zeros((len(queries), 2))
    if len(answers) > 1:
        if scorer.previous is not None:
            previous_logits = _text_logits(scorer.previous, queries, answers[-2])
        keys = [answer_key(text) for text in answers[-2]]
        relations = np.array(
            [keys_agreement(answer_key(a), k) for a, k in zip(answers[-1], keys, strict=True)]
        ).reshape(len(queries), 2)
    design = stack_design(logits, relations, previous_logits)
    scores = stack_probabilities(scorer.stack, design)
    if logprobs is not None and scorer.logprob_stack is not None:
        has = carries_logprobs(logprobs)
        extended = logprob_design(design[has], logprobs[has])
        scores[has] = stack_probabilities(scorer.logprob_stack, extended, LOGPROB_KEYS)
    return scores


def _text_logits(scorer: LinearScorer, queries: list[str], answers: list[str]) -> FloatArray:
    """First-layer logits: hashed features dotted with the weights, summed per row in order."""
    rows = SparseRows.from_pairs(list(zip(queries, answers, strict=True)))
    weights = np.zeros(N_BUCKETS)
    weights[list(scorer.weights)] = list(scorer.weights.values())
    owner = np.repeat(np.arange(len(rows)), np.diff(rows.indptr))
    products = weights[rows.indices] * rows.values
    sums = np.bincount(owner, products, minlength=len(rows))  # per row, in entry order
    return np.asarray(scorer.bias + sums, dtype=np.float64)
