"""Score a served answer against the reference model's answer to the same prompt.

Pure except for the judge, which the caller passes in as a function (it pays for the
calls and records them): deterministic scorers compare the texts (the reference
model's answer plays the reference), a ``judge:MODEL`` scorer compares them pairwise
in both orders, so the reference model's own answers score 1 and quality reads as
"at least as good as the reference model".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.scoring import Scorer
from langchain_costrouter.scoring.judge import pairwise_prompts, pairwise_score
from langchain_costrouter.shadow.config import Redactor
from langchain_costrouter.shadow.rows import SampleRow

Judge = Callable[[Sequence[BaseMessage]], tuple[str, Decimal | None]]
"""The judge's reply text to a request, and what the call cost (None: unpriced)."""

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


@dataclass(frozen=True)
class Sample:
    """A live call picked for shadow evaluation, as captured on the user's path.

    ``row`` is what will be stored, already filled in with the live call's facts; the
    evaluation adds the score, the costs and (where kept) the texts.
    """

    row: SampleRow
    served_text: str
    messages: Sequence[BaseMessage]
    stop: list[str] | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    store_prompts: bool = False
    served_logprobs: LogprobSummary | None = None


@dataclass(frozen=True)
class Scored:
    score: float | None
    judge_cost: Decimal
    error: str | None = None


def score_answer(
    scorer: Scorer, sample: Sample, reference_text: str, judge: Judge | None
) -> Scored:
    """The served answer's score, with the reference model's answer as the yardstick."""
    if scorer.score_answer is not None:
        return Scored(scorer.score_answer(sample.served_text, reference_text), Decimal(0))
    assert judge is not None, "a judge scorer comes with its judge"
    prompts = pairwise_prompts(sample.messages, sample.served_text, reference_text)
    first, first_cost = judge(prompts.candidate_first)
    second, second_cost = judge(prompts.yardstick_first)
    cost = (first_cost or Decimal(0)) + (second_cost or Decimal(0))
    score = pairwise_score(first, second)
    if score is None:
        return Scored(None, cost, f"the judge gave no verdict: {first[-60:]!r} / {second[-60:]!r}")
    return Scored(score, cost)


def evaluated_row(
    sample: Sample,
    scored: Scored,
    reference_text: str | None,
    reference_cost: Decimal | None,
    redact: Redactor | None,
    reference_logprobs: LogprobSummary | None = None,
) -> SampleRow:
    """The row to store: the score and costs, and the texts (redacted) where they are kept.

    Both answers' log-probability summaries are kept whenever the providers returned
    them: they hold no text, and calibration from the ledger may learn from them.
    """
    row = replace(
        sample.row,
        score=scored.score,
        error=scored.error,
        reference_cost=reference_cost,
        judge_cost=scored.judge_cost,
        served_logprobs=sample.served_logprobs,
        reference_logprobs=reference_logprobs,
    )
    if not sample.store_prompts:
        return row
    return replace(
        row,
        messages=stored_prompt(sample.messages, redact),
        served_text=redacted(sample.served_text, redact),
        reference_text=None if reference_text is None else redacted(reference_text, redact),
    )


def stored_prompt(
    messages: Sequence[BaseMessage], redact: Redactor | None
) -> tuple[dict[str, str], ...] | None:
    """The prompt as outcomes messages, redacted; None when a message has no such role."""
    stored = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:  # a tool call or result: not an eval-set question
            return None
        stored.append({"role": role, "content": redacted(message.text, redact)})
    return tuple(stored)


def redacted(text: str, redact: Redactor | None) -> str:
    return text if redact is None else redact(text)
