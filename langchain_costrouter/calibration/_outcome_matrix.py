"""Recorded outcomes as arrays: each row's score and cost under every model, cheapest first.

`OutcomeMatrix` is what every figure (`evaluate`), every out-of-fold fit (`oof`) and the
search run on: scores and costs as numpy arrays, with what a learned scorer reads beside
them (query texts, answer texts, token log-probabilities, prompt keys). It is built from
parsed records (`OutcomeMatrix.of`, costs from a `CostFunction`) or from an outcomes
file's columns (`table.task_matrix`); nothing here computes a figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from langchain_costrouter.calibration.features import FloatArray, IntArray, query_text
from langchain_costrouter.calibration.groups import group_codes
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.replay import record_key

CostFunction = Callable[[str, ModelOutcome], float]
"""Dollar cost of one model's recorded outcome (recorded, or tokens x a price table)."""


def recorded_cost(model: str, outcome: ModelOutcome) -> float:
    """The recorded ``cost_usd``; pass a pricing-based function when only tokens exist."""
    if outcome.cost_usd is None:
        raise ConfigError(
            f"model {model!r} has no recorded cost_usd; pass a cost function that prices "
            "input_tokens/output_tokens"
        )
    return outcome.cost_usd


@dataclass(frozen=True)
class OutcomeMatrix:
    """Scores and costs of a record set as arrays, models sorted by mean cost."""

    records: tuple[OutcomeRecord, ...]
    models: tuple[str, ...]
    quality: FloatArray  # [records, models]
    cost: FloatArray  # [records, models]
    queries: tuple[str, ...] = ()
    """Each row's query text, when built without records (`table.task_matrix`)."""
    texts: tuple[tuple[str, ...], ...] = ()
    """Per model (in ``models`` order), each row's answer text, likewise."""
    logprobs: FloatArray | None = None
    """[records, models, 2]: each answer's mean and minimum token log-probability, NaN
    where none was recorded; None when no answer of the set recorded any."""
    keys: tuple[str, ...] = ()
    """Each row's prompt key (`replay.record_key`), when built without records."""

    @property
    def size(self) -> int:
        """Rows (records) of the matrix."""
        return len(self.quality)

    @classmethod
    def of(
        cls, records: Sequence[OutcomeRecord], cost_of: CostFunction = recorded_cost
    ) -> OutcomeMatrix:
        if not records:
            raise ConfigError("no records to evaluate")
        names = sorted(records[0].outcomes)
        quality = np.array([[r.outcomes[m].score for m in names] for r in records])
        cost = np.array([[cost_of(m, r.outcomes[m]) for m in names] for r in records])
        order = np.argsort(cost.mean(axis=0), kind="stable")
        logprobs = logprob_columns(records, names)
        return cls(
            records=tuple(records),
            models=tuple(names[i] for i in order),
            quality=quality[:, order],
            cost=cost[:, order],
            logprobs=None if logprobs is None else logprobs[:, order],
        )

    def answers(self, model: int) -> list[str]:
        """Recorded answer texts of one model (empty when none was recorded)."""
        if self.texts:
            return list(self.texts[model])
        name = self.models[model]
        return [record.outcomes[name].text or "" for record in self.records]

    def answer_logprobs(self, model: int) -> FloatArray:
        """[rows, 2] mean and minimum token log-probability of one model's answers (NaN: none)."""
        if self.logprobs is None:
            return np.full((self.size, 2), np.nan)
        return np.asarray(self.logprobs[:, model], dtype=np.float64)

    def prompt_keys(self) -> list[str]:
        """Each row's prompt key: copies of a prompt share one, and one fold (`groups`)."""
        return list(self.keys) if self.keys else [record_key(r) for r in self.records]

    @cached_property
    def prompt_groups(self) -> IntArray:
        """Each row's prompt number (`groups.group_codes`): what bounds count as the unit."""
        return group_codes(self.prompt_keys())[0]

    def query_texts(self) -> list[str]:
        """Each row's query: every message's text, in order (`features.query_text`)."""
        if self.queries:
            return list(self.queries)
        return [query_text(m["content"] for m in record.messages) for record in self.records]


def logprob_columns(records: Sequence[OutcomeRecord], models: Sequence[str]) -> FloatArray | None:
    """[records, models, 2] log-probability summaries (NaN: none); None when none at all."""
    summaries = [[record.outcomes[m].logprobs for m in models] for record in records]
    if all(summary is None for row in summaries for summary in row):
        return None
    return np.array(
        [[_pair(summary) for summary in row] for row in summaries], dtype=np.float64
    ).reshape(len(records), len(models), 2)


def _pair(summary: LogprobSummary | None) -> tuple[float, float]:
    return (np.nan, np.nan) if summary is None else (summary.mean, summary.min)
