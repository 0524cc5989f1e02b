"""The learned scorer: a logistic regression over hashed (query, answer) features.

FrugalGPT scored answers with a fine-tuned DistilBERT; a linear model over hashed
n-grams is the small, dependency-free version of that idea: it trains in a fraction of
a second with numpy (`calibration/_text_fit.py`), runs in microseconds, and is stored
as JSON (never pickle), so a policy file is safe to share and to review. An optional
second layer stacks the text score with agreement between tiers, which is what tells a
cheap tier's short label apart from a lucky guess. When calibration found that the answers' token
log-probabilities pay off, a ``logprob_stack`` scores the answers that carry them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langchain_costrouter.calibration.features import (
    FEATURES_VERSION,
    N_BUCKETS,
    FloatArray,
    agreement_features,
    text_features,
)
from langchain_costrouter.calibration.stack import (
    LOGPROB_KEYS,
    STACK_KEYS,
    logprob_design,
    sigmoid,
    stack_design,
    stack_probabilities,
)
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary


@dataclass(frozen=True)
class LinearScorer:
    """P(answer is good | query, answer, previous answers) as a JSON-able linear model.

    ``previous`` is the previous tier's text layer (its weights and bias only): the
    stack reads its logit on the previous tier's answer, so a stage can use what the
    lower tier's scorer knew without the router passing scores between checks.

    ``logprob_stack`` (the stack's columns plus the answer's mean and minimum token
    log-probability) scores answers that carry a log-probability summary; an answer
    without one (a deployment that returns none) is scored by ``stack``: a missing
    summary is never read as zero.
    """

    weights: Mapping[int, float]
    bias: float
    stack: Mapping[str, float] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    previous: LinearScorer | None = None
    logprob_stack: Mapping[str, float] | None = None

    def text_logit(self, query: str, answer: str) -> float:
        """The first layer's logit for one pair."""
        indices, values = text_features(query, answer)
        return self.bias + float(
            sum(self.weights.get(int(i), 0.0) * v for i, v in zip(indices, values, strict=True))
        )

    def score(
        self,
        query: str,
        answer: str,
        previous: Sequence[str] = (),
        logprobs: LogprobSummary | None = None,
    ) -> float:
        """The probability in [0, 1] that ``answer`` is good.

        ``logprobs`` is the answer's summary when its message carried one.
        """
        text_logit = self.text_logit(query, answer)
        if self.stack is None:
            return float(sigmoid(np.array(text_logit)))
        previous_logit = 0.0
        if self.previous is not None and previous:
            previous_logit = self.previous.text_logit(query, previous[-1])
        relations = agreement_features(answer, previous)[None, :]
        design = stack_design(np.array([text_logit]), relations, np.array([previous_logit]))
        if logprobs is not None and self.logprob_stack is not None:
            extended = logprob_design(design, np.array([[logprobs.mean, logprobs.min]]))
            return float(stack_probabilities(self.logprob_stack, extended, LOGPROB_KEYS)[0])
        return float(stack_probabilities(self.stack, design)[0])

    def to_json(self) -> dict[str, Any]:
        """A JSON object: sparse weights keyed by bucket, rounded to 6 significant digits."""
        data = {
            "kind": "hashed-logistic",
            "features_version": FEATURES_VERSION,
            "n_buckets": N_BUCKETS,
            **_text_layer_json(self),
            "stack": None if self.stack is None else {k: _round(v) for k, v in self.stack.items()},
            "meta": dict(self.meta),
        }
        if self.previous is not None:
            data["previous"] = _text_layer_json(self.previous)
        if self.logprob_stack is not None:
            data["logprob_stack"] = {k: _round(v) for k, v in self.logprob_stack.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearScorer:
        """Load `to_json` output; a scorer of another feature layout is a ConfigError.

        Stack keys a file lacks weigh zero, so files from before a key existed load;
        a file without ``logprob_stack`` scores every answer with the plain stack.
        """
        if data.get("kind") != "hashed-logistic" or data.get("n_buckets") != N_BUCKETS:
            raise ConfigError("not a hashed-logistic scorer of this version", key="scorer")
        if data.get("features_version") != FEATURES_VERSION:
            raise ConfigError("scorer features_version differs; re-run calibrate", key="scorer")
        stack = data.get("stack")
        previous = data.get("previous")
        logprob_stack = data.get("logprob_stack")
        return cls(
            weights=_weights_from_json(data["weights"]),
            bias=float(data["bias"]),
            stack=None if stack is None else {k: float(stack.get(k, 0.0)) for k in STACK_KEYS},
            meta=dict(data.get("meta", {})),
            previous=None
            if previous is None
            else cls(weights=_weights_from_json(previous["weights"]), bias=float(previous["bias"])),
            logprob_stack=None
            if logprob_stack is None
            else {k: float(logprob_stack.get(k, 0.0)) for k in LOGPROB_KEYS},
        )


def scorer_from_dense(
    weights: FloatArray,
    bias: float,
    stack: Mapping[str, float] | None,
    previous: LinearScorer | None = None,
    logprob_stack: Mapping[str, float] | None = None,
) -> LinearScorer:
    """Keep only the buckets the training data touched (all others stayed zero)."""
    nonzero = np.flatnonzero(weights)
    return LinearScorer(
        weights={int(i): float(weights[i]) for i in nonzero},
        bias=bias,
        stack=stack,
        previous=previous,
        logprob_stack=logprob_stack,
    )


def _text_layer_json(scorer: LinearScorer) -> dict[str, Any]:
    return {
        "bias": _round(scorer.bias),
        "weights": {str(i): _round(w) for i, w in sorted(scorer.weights.items())},
    }


def _weights_from_json(weights: Mapping[str, Any]) -> dict[int, float]:
    return {int(i): float(w) for i, w in weights.items()}


def _round(value: float) -> float:
    return float(f"{value:.6g}")
