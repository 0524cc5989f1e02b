"""The hook for scorers written as plain functions, such as a learned scorer.

The calibration step can train a model that predicts, from the request and a cheap
answer, whether that answer is good enough. Wrapping its predict function here makes
it a check the cascade runs like any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import BaseCheck, CheckResult

ScoreFunction = Callable[[Sequence[BaseMessage], AIMessage, Sequence[AIMessage]], float]
AsyncScoreFunction = Callable[
    [Sequence[BaseMessage], AIMessage, Sequence[AIMessage]], Awaitable[float]
]


class FunctionCheck(BaseCheck):
    """A check that delegates scoring to ``fn(messages, answer, previous) -> [0, 1]``.

    A score outside [0, 1] raises `ValueError` instead of being clamped: it means the
    scorer is broken, and a clamp would silently accept or reject every answer.
    """

    def __init__(
        self,
        fn: ScoreFunction,
        *,
        afn: AsyncScoreFunction | None = None,
        name: str | None = None,
    ) -> None:
        """Create the check.

        Args:
            fn: The scorer; it receives the request messages, the candidate answer
                and the lower tiers' answers.
            afn: An async scorer for `aevaluate`, when scoring does I/O; without it
                `aevaluate` calls ``fn``.
            name: Label of the check in ledger reasons; the function's name by default.
        """
        self.fn = fn
        self.afn = afn
        self.name = name or str(getattr(fn, "__name__", "function"))

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score with ``fn``."""
        return self._result(self.fn(messages, answer, previous))

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score with ``afn`` when given, else with ``fn``."""
        if self.afn is None:
            return self.evaluate(messages, answer, previous=previous)
        return self._result(await self.afn(messages, answer, previous))

    def _result(self, score: float) -> CheckResult:
        return CheckResult(float(score), f"scored by {self.name}")
