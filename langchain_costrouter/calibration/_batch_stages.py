"""Which tier of a cascade serves each of a batch of rows, decided as the router decides.

The router runs a policy's checks one request at a time (`runtime`): per stage, the
check scores the tier's answer and a score at or above the threshold keeps it. Here
the same decisions are made for many rows at once: per stage, the rule scores every
still-open row (hashed features dotted with the scorer's weights, the stack as in
`scorer.LinearScorer.score`; agreement as in `runtime.TierAgreementCheck`) and the rows
whose score reaches the threshold stop there. A score within ``EXACT_BAND`` of its
threshold is recomputed by the scorer's own per-row code, so rounding in the batched
arithmetic cannot flip a decision. `vector_replay` replays a test split this way, and
`evaluate.simulate_policy` the records it is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from langchain_costrouter.calibration._text_fit import FeatureCache, SparseRows
from langchain_costrouter.calibration.features import (
    N_BUCKETS,
    FloatArray,
    IntArray,
    answer_key,
    keys_agreement,
)
from langchain_costrouter.calibration.logprob_stage import carries_logprobs
from langchain_costrouter.calibration.policy import StageRule
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.calibration.stack import (
    LOGPROB_KEYS,
    logprob_design,
    stack_design,
    stack_probabilities,
)
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary

EXACT_BAND = 1e-9
"""Scores this close to a threshold are recomputed row by row with the scorer's own code."""


def cascade_stages(
    rules: Sequence[StageRule],
    queries: Sequence[str],
    answers: Sequence[Sequence[str]],
    logprobs: Sequence[FloatArray] | None,
) -> IntArray:
    """Per row, the index of the tier that serves it: the first whose rule accepts, else the last.

    ``answers[t]`` holds tier ``t``'s answer of every row and ``logprobs[t]`` their
    [mean, min] log-probability summaries (NaN: none; None: no row has any), for every
    tier a rule scores. A pair featurised for one stage is read again by the next (its
    scorer's previous layer) from the same rows, not featurised twice.
    """
    stages = np.full(len(queries), len(rules), dtype=np.int64)
    open_rows = np.arange(len(queries))
    features: FeatureCache = {}
    for stage, rule in enumerate(rules):
        if not len(open_rows):
            break
        at = open_rows.tolist()
        asked = [queries[i] for i in at]
        tier_answers = [[tier[i] for i in at] for tier in answers[: stage + 1]]
        tier_logprobs = None if logprobs is None else logprobs[stage][open_rows]
        accept = stage_accepts(rule, asked, tier_answers, tier_logprobs, features)
        stages[open_rows[accept]] = stage
        open_rows = open_rows[~accept]
    return stages


def stage_accepts(
    rule: StageRule,
    queries: list[str],
    answers: list[list[str]],
    logprobs: FloatArray | None,
    features: FeatureCache | None = None,
) -> npt.NDArray[np.bool_]:
    """Whether ``rule`` accepts the last of ``answers`` (earlier ones are the lower tiers).

    ``logprobs`` [rows, 2] are the last answers' log-probability summaries (NaN: none).
    """
    if rule.kind == "agreement":
        scores = _agreement(answers)
    elif rule.scorer is not None:
        scores = _scorer(rule.scorer, queries, answers, logprobs, features)
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
    features: FeatureCache | None = None,
) -> FloatArray:
    """`LinearScorer.score` of every row at once."""
    logits = _text_logits(scorer, queries, answers[-1], features)
    if scorer.stack is None:
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30))), dtype=np.float64)
    previous_logits = np.zeros(len(queries))
    relations = np.zeros((len(queries), 2))
    if len(answers) > 1:
        if scorer.previous is not None:
            previous_logits = _text_logits(scorer.previous, queries, answers[-2], features)
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


def _text_logits(
    scorer: LinearScorer, queries: list[str], answers: list[str], features: FeatureCache | None
) -> FloatArray:
    """First-layer logits: hashed features dotted with the weights, summed per row in order."""
    rows = SparseRows.from_pairs(list(zip(queries, answers, strict=True)), features)
    weights = np.zeros(N_BUCKETS)
    weights[list(scorer.weights)] = list(scorer.weights.values())
    owner = np.repeat(np.arange(len(rows)), np.diff(rows.indptr))
    products = weights[rows.indices] * rows.values
    sums = np.bincount(owner, products, minlength=len(rows))  # per row, in entry order
    return np.asarray(scorer.bias + sums, dtype=np.float64)
