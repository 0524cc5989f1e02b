"""What a ``collect`` run will cost, before anything is sent, and the cap that stops it.

The estimate prices every call the run will make from the price table the router uses:
each model's prompt tokens (tiktoken) plus an expected answer length, and the judge's
calls when the scorer is a judge. It is an estimate, not a bound: answers can run
longer, so the cap cannot rest on it. Every call of ``collect`` carries an output cap
(``--max-output-tokens``), which bounds what a call can cost: its prompt tokens at the
input price plus the cap at the output price. The cap (`SpendCap`) reserves that worst
case for every call of a question before it starts and settles to the real cost when it
ends, the way the router's budgets hold and settle: a question starts only when the
spend so far, the reservations of the questions in flight and its own worst case fit,
so the spend cannot pass the cap while providers honour the output cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from langchain_core.messages import BaseMessage

from langchain_costrouter.collect.prompts import Prompt
from langchain_costrouter.scoring import Scorer
from langchain_costrouter.tokens import count_messages, count_text

PriceFunction = Callable[[str, int, int], Decimal | None]
"""(model, input tokens, output tokens) -> dollars, None when the model has no price."""

JUDGE_TEMPLATE_TOKENS = 200
"""The judge prompt's own words around the conversation and the answers (about 120
measured: the margin keeps the worst case above what the judge is really sent)."""
JUDGE_REPLY_TOKENS = 80


@dataclass(frozen=True)
class Estimate:
    """Estimated dollars of a run, per model and for the judge."""

    questions: int
    by_model: Mapping[str, Decimal]
    judge_usd: Decimal
    output_tokens: int
    worst_case_usd: Decimal = Decimal(0)
    """Every call answering at the output cap: what the run can cost at most."""
    max_output_tokens: int = 0

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
    max_output_tokens: int
    """The output cap every call carries: the bound of the worst case."""

    def calls(self, prompt: Prompt, messages: Sequence[BaseMessage]) -> dict[str, Decimal]:
        """Estimated dollars by model for one question ("judge" for the judge's calls)."""
        expected = min(self.output_tokens, self.max_output_tokens)
        verdict = min(JUDGE_REPLY_TOKENS, self.max_output_tokens)
        return self._costs(prompt, messages, expected, verdict)

    def worst_case(self, prompt: Prompt, messages: Sequence[BaseMessage]) -> Decimal:
        """The most one question can cost: every answer and verdict as long as the cap.

        The judge's prompt holds the answers, so its input is bounded by the cap too.
        """
        cap = self.max_output_tokens
        return sum(self._costs(prompt, messages, cap, cap).values(), Decimal(0))

    def _costs(
        self, prompt: Prompt, messages: Sequence[BaseMessage], answer: int, verdict: int
    ) -> dict[str, Decimal]:
        prompt_tokens = count_messages(messages)
        costs = {m: self._priced(m, prompt_tokens, answer) for m in self.models}
        judge = self.scorer.judge_model
        if judge is not None:
            graded = prompt.reference is not None
            calls = len(self.models) if graded else 2 * (len(self.models) - 1)
            reference = count_text(prompt.reference) if prompt.reference is not None else 0
            answers = (1 if graded else 2) * answer
            judge_input = prompt_tokens + reference + answers + JUDGE_TEMPLATE_TOKENS
            costs["judge"] = calls * self._priced(judge, judge_input, verdict)
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
    worst = Decimal(0)
    for prompt, messages in questions:
        worst += costs.worst_case(prompt, messages)
        for name, cost in costs.calls(prompt, messages).items():
            if name == "judge":
                judge += cost
            else:
                by_model[name] += cost
    return Estimate(
        len(questions), by_model, judge, costs.output_tokens, worst, costs.max_output_tokens
    )


class SpendCap:
    """Admits questions while the spend, the reservations and the next worst case fit the cap.

    Each admitted question holds its worst case until it ends, then gives it back and
    its real cost counts as spent (the caller's running total). A question that does not
    fit while others are in flight waits for them: what they really cost leaves room. It
    stops the run only when nothing is in flight, or when told to (`stop`).
    """

    def __init__(self, limit_usd: Decimal | None) -> None:
        self.limit_usd = limit_usd
        self.reserved = Decimal(0)
        self.in_flight = 0
        self.stop_reason: str | None = None
        self._changed = asyncio.Condition()

    async def admit(self, worst_case: Decimal, spent: Callable[[], Decimal]) -> Decimal | None:
        """The reservation for a question that costs at most ``worst_case``; None: stop."""
        async with self._changed:
            while self.stop_reason is None:
                if self._fits(spent() + self.reserved + worst_case):
                    self.reserved += worst_case
                    self.in_flight += 1
                    return worst_case
                if self.in_flight == 0:
                    self.stop_reason = (
                        f"stopped before the --max-cost-usd cap of ${self.limit_usd}: "
                        f"${spent():.6f} spent, and the next question could cost up to "
                        f"${worst_case:.6f} (every answer at --max-output-tokens)"
                    )
                else:
                    await self._changed.wait()
            return None

    async def settle(self, reservation: Decimal) -> None:
        """A question ended: free its reservation (its real cost is in the spend now)."""
        async with self._changed:
            self.reserved -= reservation
            self.in_flight -= 1
            self._changed.notify_all()

    async def stop(self, reason: str) -> None:
        """Admit nothing more: the worst case can no longer be trusted (``reason``)."""
        async with self._changed:
            if self.stop_reason is None:
                self.stop_reason = reason
            self._changed.notify_all()

    def _fits(self, total: Decimal) -> bool:
        return self.limit_usd is None or total <= self.limit_usd
