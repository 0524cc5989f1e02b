"""One eval question: every model answers, the scorer scores, one outcomes record comes out.

The yardstick of a pairwise judge is the strongest model's answer, so the strongest
model scores 1.0 by definition and the others 0, 0.5 or 1 (at least as good as the
strongest in neither, one or both orders). With a reference answer the judge grades
every model against it instead. The judge's calls are paid for like any other and
recorded on the line (``judge.cost_usd``), apart from the models' own costs, so the
calibration prices each model's answer alone.

Each line also names its scorer (``scorer``), so a re-run with another ``--score`` is
refused instead of mixing scores of two kinds in one file, and lists the models whose
answer the output cap cut short (``cut_by_max_output_tokens``; the judge's cut verdicts
are counted in ``judge.cut``), so a partial answer scored low is not mistaken for a
wrong one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_costrouter.calibration.run import record_messages
from langchain_costrouter.collect.answers import KeptAnswers
from langchain_costrouter.collect.calls import Answer, Caller
from langchain_costrouter.collect.output import CUT_KEY, SCORER_KEY
from langchain_costrouter.collect.prompts import Prompt
from langchain_costrouter.errors import CostRouterError
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.scoring import Scorer
from langchain_costrouter.scoring.judge import (
    graded_prompt,
    graded_score,
    pairwise_prompts,
    pairwise_score,
)


class JudgeVerdictError(CostRouterError):
    """The judge's reply held no verdict: the question is left for a re-run."""


@dataclass(frozen=True)
class Question:
    """A prompt with its messages as LangChain messages (converted once)."""

    prompt: Prompt
    messages: Sequence[BaseMessage]

    @classmethod
    def of(cls, prompt: Prompt, task: str) -> Question:
        record = OutcomeRecord(prompt.id, task, prompt.messages, {})
        return cls(prompt, record_messages(record))


@dataclass(frozen=True)
class Asker:
    """Answers and scores questions of one task for a set of models."""

    caller: Caller
    task: str
    models: Sequence[str]
    strongest: str
    scorer: Scorer
    kept: KeptAnswers | None = None
    """Answers earlier runs paid for, taken instead of calling again; new ones are kept."""

    async def answer(self, question: Question) -> OutcomeRecord:
        """Every model's answer and score to ``question``, as one outcomes record."""
        answers = await _all(self._ask(model, question) for model in self.models)
        by_model = {answer.model: answer for answer in answers}
        scores, replies = await self._scores(question, by_model)
        prompt = question.prompt
        extra: dict[str, Any] = dict(prompt.extra)
        extra[SCORER_KEY] = self.scorer.name
        cut = [model for model in self.models if by_model[model].cut]
        if cut:
            extra[CUT_KEY] = cut
        if self.scorer.judge_model is not None:
            extra["judge"] = {
                "model": self.scorer.judge_model,
                "cost_usd": float(_cost(replies)),
                "calls": len(replies),
            }
            if judge_cut := sum(reply.cut for reply in replies):
                extra["judge"]["cut"] = judge_cut
        outcomes = {model: _outcome(by_model[model], scores[model]) for model in self.models}
        return OutcomeRecord(
            prompt.id, self.task, prompt.messages, outcomes, prompt.reference, extra
        )

    async def _ask(self, model: str, question: Question) -> Answer:
        prompt = question.prompt
        if self.kept is not None and (kept := self.kept.get(prompt.id, prompt.messages, model)):
            return kept
        answer = await self.caller.ask(model, question.messages)
        if self.kept is not None:
            self.kept.add(prompt.id, prompt.messages, answer)
        return answer

    async def _scores(
        self, question: Question, answers: dict[str, Answer]
    ) -> tuple[dict[str, float], Sequence[Answer]]:
        reference = question.prompt.reference
        score_answer = self.scorer.score_answer
        if score_answer is not None:
            return {m: score_answer(a.text, reference) for m, a in answers.items()}, ()
        if reference is not None:
            return await self._graded(question, answers, reference)
        return await self._pairwise(question, answers)

    async def _graded(
        self, question: Question, answers: dict[str, Answer], reference: str
    ) -> tuple[dict[str, float], Sequence[Answer]]:
        replies = await _all(
            self._judge(graded_prompt(question.messages, a.text, reference))
            for a in answers.values()
        )
        scores = {
            model: graded_score(reply.text) for model, reply in zip(answers, replies, strict=True)
        }
        return _checked(question, scores), replies

    async def _pairwise(
        self, question: Question, answers: dict[str, Answer]
    ) -> tuple[dict[str, float], Sequence[Answer]]:
        yardstick = answers[self.strongest].text
        others = [model for model in answers if model != self.strongest]
        prompts = [pairwise_prompts(question.messages, answers[m].text, yardstick) for m in others]
        replies = await _all(
            self._judge(p) for pair in prompts for p in (pair.candidate_first, pair.yardstick_first)
        )
        scores: dict[str, float | None] = {self.strongest: 1.0}
        for index, model in enumerate(others):
            first, second = replies[2 * index], replies[2 * index + 1]
            scores[model] = pairwise_score(first.text, second.text)
        return _checked(question, scores), replies

    async def _judge(self, messages: Sequence[BaseMessage]) -> Answer:
        judge = self.scorer.judge_model
        assert judge is not None
        return await self.caller.ask(judge, messages)


async def _all(calls: Iterable[Coroutine[Any, Any, Answer]]) -> list[Answer]:
    """Every call's answer; a failure is raised only once every other call has ended.

    A question is one unit of the run: the spend cap settles it, and the run ends, when
    it returns. Raising at the first failure would leave the others running unowned,
    paid but outside the cap, and cancelled half-way when the run ends.
    """
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if not isinstance(result, BaseException)]


def _checked(question: Question, scores: dict[str, float | None]) -> dict[str, float]:
    missing = sorted(model for model, score in scores.items() if score is None)
    if missing:
        raise JudgeVerdictError(
            f"question {question.prompt.id!r}: the judge gave no verdict on {missing}'s answer"
        )
    return {model: score for model, score in scores.items() if score is not None}


def _cost(replies: Sequence[Answer]) -> Decimal:
    return sum((reply.cost_usd for reply in replies), Decimal(0))


def _outcome(answer: Answer, score: float) -> ModelOutcome:
    return ModelOutcome(
        score=score,
        text=answer.text,
        cost_usd=float(answer.cost_usd),
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        logprobs=answer.logprobs,
    )
