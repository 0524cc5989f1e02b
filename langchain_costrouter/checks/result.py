"""What a check returns, and the base class every built-in check shares.

`QualityCheck` (in `base`) only promises a float. The cascade needs more: a judge
check makes a paid model call of its own, and that call belongs in the ledger as an
attempt. So every built-in check implements `evaluate`/`aevaluate`, which return a
`CheckResult` carrying the score, a human-readable reason and the side calls'
`AIMessage`s (with their ``usage_metadata`` and ``response_metadata["model_name"]``).
`score`/`ascore` are thin wrappers, so built-ins still satisfy `QualityCheck`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import QualityCheck


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one candidate answer.

    Attributes:
        score: Quality in [0, 1]; the tier's threshold turns it into accept or escalate.
        reason: Why the check scored what it did, short enough for a ledger row.
        cost_messages: Answers of paid side calls the check made (a judge's reply),
            so the cascade can record each as an attempt with its own usage and cost.
    """

    score: float
    reason: str = ""
    cost_messages: tuple[AIMessage, ...] = ()

    def __post_init__(self) -> None:
        # A score outside [0, 1] is a bug in the check (or a learned scorer), and a
        # silent clamp would hide it from the threshold logic.
        if not (math.isfinite(self.score) and 0.0 <= self.score <= 1.0):
            raise ValueError(f"A check score must be in [0, 1], got {self.score!r}.")


@runtime_checkable
class EvaluatingCheck(QualityCheck, Protocol):
    """A `QualityCheck` that also reports its reason and its paid side calls."""

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score ``answer`` and say why; ``previous`` are lower tiers' answers."""
        ...

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`."""
        ...


class BaseCheck(ABC):
    """Shared plumbing: subclasses write `evaluate` (and `aevaluate` when they do I/O).

    Pure checks only look at text, so their async twin just calls the sync one;
    checks that call a model or an embedding service override `aevaluate`.
    """

    name: str

    @abstractmethod
    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score ``answer`` and say why; ``previous`` are lower tiers' answers."""

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`; the default suits checks that do no I/O."""
        return self.evaluate(messages, answer, previous=previous)

    def score(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> float:
        """The `QualityCheck` view: the score of `evaluate`."""
        return self.evaluate(messages, answer, previous=previous).score

    async def ascore(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> float:
        """The `QualityCheck` view: the score of `aevaluate`."""
        return (await self.aevaluate(messages, answer, previous=previous)).score

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def evaluate_check(
    check: QualityCheck,
    messages: Sequence[BaseMessage],
    answer: AIMessage,
    *,
    previous: Sequence[AIMessage] = (),
) -> CheckResult:
    """Run any `QualityCheck`, user-written ones included, and get a `CheckResult`.

    A check that only implements `score` made no side calls we can see, so its
    result carries none.
    """
    if isinstance(check, EvaluatingCheck):
        return check.evaluate(messages, answer, previous=previous)
    return CheckResult(check.score(messages, answer, previous=previous))


async def aevaluate_check(
    check: QualityCheck,
    messages: Sequence[BaseMessage],
    answer: AIMessage,
    *,
    previous: Sequence[AIMessage] = (),
) -> CheckResult:
    """Async twin of `evaluate_check`."""
    if isinstance(check, EvaluatingCheck):
        return await check.aevaluate(messages, answer, previous=previous)
    return CheckResult(await check.ascore(messages, answer, previous=previous))
