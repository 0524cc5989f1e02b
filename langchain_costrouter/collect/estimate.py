"""What a ``collect`` run will cost, before anything is sent, and the cap that stops it.

The estimate prices every call the run will make from the price table the router uses:
each model's prompt tokens (tiktoken) plus an expected answer length, and the judge's
calls when the scorer is a judge. It is an estimate, not a bound: answers can run
longer. So the cap (`SpendCap`) corrects it by what finished questions really cost,
and reserves each question's estimate while it is in flight: a question starts only
when the spend so far, the reservations and its own estimate fit under the cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from langchain_core.messages import BaseMessage

from langchain_costrouter.collect.prompts import Prompt
from langchain_costrouter.scoring import Scorer
from langchain_costrouter.tokens import count_messages

PriceFunction = Callable[[str, int, int], Decimal | None]
"""(model, input tokens, output tokens) -> dollars, None when the model has no price."""

JUDGE_TEMPLATE_TOKENS = 200
"""The judge prompt's own words around the conversation and the answers."""
JUDGE_REPLY_TOKENS = 80


@dataclass(frozen=True)
class Estimate:
    """Estimated dollars of a run, per model and for the judge."""

    questions: int
    by_model: Mapping[str, Decimal]
    judge_usd: Decimal
    output_tokens: int

    @property
    def total_usd(self) -> Decimal:
        return sum(self.by_model.values(), self.judge_usd)


@dataclass
class QuestionCost:
    """Estimate one question's calls: its models' answers and the judge's calls."""

    models: Sequence[str]
    strongest: str
    scorer: Scorer
    price: PriceFunction
    output_tokens: int

    def calls(self, prompt: Prompt, messages: Sequence[BaseMessage]) -> dict[str, Decimal]:
        """Dollars by model for one question ("judge" for the judge's calls)."""
        prompt_tokens = count_messages(messages)
        costs = {m: self._priced(m, prompt_tokens, self.output_tokens) for m in self.models}
        judge = self.scorer.judge_model
        if judge is not None:
            graded = prompt.reference is not None
            calls = len(self.models) if graded else 2 * (len(self.models) - 1)
            answers = (1 if graded else 2) * self.output_tokens
            judge_input = prompt_tokens + answers + JUDGE_TEMPLATE_TOKENS
            costs["judge"] = calls * self._priced(judge, judge_input, JUDGE_REPLY_TOKENS)
        return costs

    def _priced(self, model: str, input_tokens: int, output_tokens: int) -> Decimal:
        cost = self.price(model, input_tokens, output_tokens)
        if cost is None:
            raise AssertionError(f"{model} has no price: the run checks prices first")
        return cost


def estimate_run(
    costs: QuestionCost, questions: Sequence[tuple[Prompt, Sequence[BaseMessage]]]
) -> Estimate:
    """The whole run's estimate: every question, every model, and the judge."""
    by_model: dict[str, Decimal] = dict.fromkeys(costs.models, Decimal(0))
    judge = Decimal(0)
    for prompt, messages in questions:
        for name, cost in costs.calls(prompt, messages).items():
            if name == "judge":
                judge += cost
            else:
                by_model[name] += cost
    return Estimate(len(questions), by_model, judge, costs.output_tokens)


class SpendCap:
    """Admits questions while the spend, the reservations and the next estimate fit the cap.

    A question that does not fit while others are in flight waits for them: what they
    really cost may leave room. It stops the run only when nothing is in flight.
    """

    def __init__(self, limit_usd: Decimal | None) -> None:
        self.limit_usd = limit_usd
        self.reserved = Decimal(0)
        self.in_flight = 0
        self.stop_reason: str | None = None
        self._estimated_done = Decimal(0)
        self._spent_done = Decimal(0)
        self._changed = asyncio.Condition()

    async def admit(self, estimate: Decimal, spent: Callable[[], Decimal]) -> Decimal | None:
        """The reservation for a question estimated at ``estimate``; None: the run stops."""
        async with self._changed:
            while self.stop_reason is None:
                reservation = estimate * self._correction()
                if self._fits(spent() + self.reserved + reservation):
                    self.reserved += reservation
                    self.in_flight += 1
                    return reservation
                if self.in_flight == 0:
                    self.stop_reason = (
                        f"stopped before the --max-cost-usd cap of ${self.limit_usd}: "
                        f"${spent():.6f} spent, and the next question is estimated at "
                        f"${reservation:.6f}"
                    )
                else:
                    await self._changed.wait()
            return None

    async def settle(self, reservation: Decimal, estimate: Decimal, cost: Decimal | None) -> None:
        """A question ended: free its reservation; learn from its ``cost`` when it finished."""
        async with self._changed:
            self.reserved -= reservation
            self.in_flight -= 1
            if cost is not None:
                self._estimated_done += estimate
                self._spent_done += cost
            self._changed.notify_all()

    def _fits(self, total: Decimal) -> bool:
        return self.limit_usd is None or total <= self.limit_usd

    def _correction(self) -> Decimal:
        """Actual over estimated cost of the questions finished so far (1 before any)."""
        if self._estimated_done <= 0 or self._spent_done <= 0:
            return Decimal(1)
        return self._spent_done / self._estimated_done
