"""Checks built from checks: all must pass (min), any may pass (max), or a weighted mean.

Nested checks' side calls (a judge's reply) are collected, so the ledger sees every
paid call however deep the judge sits; when one check raises, the replies the others
had already paid for travel on its error (`base.carry_paid_calls`), and so does the
check that raised it (`base.carry_failed_check`), whose model the cascade names; a
`Weighted` runs its checks at once (checks/_at_once.py): the error it raises, or its
cancellation, names every judge that failed or was cut off too. `AllOf` and
`AnyOf` run their checks in the order given and stop once the outcome is settled (a 0
for `AllOf`, a 1 for `AnyOf`): put the free checks first and a judge last, and a
refusal never pays for a judge.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks._at_once import all_results
from langchain_costrouter.checks.base import (
    BaseCheck,
    CheckResult,
    QualityCheck,
    carry_failed_check,
    carry_paid_calls,
)

_Scored = list[tuple[QualityCheck, CheckResult]]


def _combine(score: float, scored: _Scored) -> CheckResult:
    reason = "; ".join(f"{check.name}={r.score:.2f} ({r.reason})" for check, r in scored)
    side_calls = tuple(message for _, r in scored for message in r.cost_messages)
    # Float sums can land a hair outside [0, 1]; the inputs were inside it.
    return CheckResult(min(1.0, max(0.0, score)), reason, side_calls)


@contextmanager
def _carrying(scored: _Scored, check: QualityCheck) -> Iterator[None]:
    """``check`` raising in the block: its error carries the replies of those ``scored``
    so far, and names ``check`` (unless a check nested in it named itself)."""
    try:
        yield
    except BaseException as error:
        carry_paid_calls(error, (m for _, result in scored for m in result.cost_messages))
        carry_failed_check(error, check)
        raise


class _FirstDecisive(BaseCheck):
    """Runs checks in order until one scores ``decisive``, then combines with `_pick`."""

    decisive: float

    def __init__(self, checks: Sequence[QualityCheck], *, name: str) -> None:
        if not checks:
            raise ValueError(f"{type(self).__name__} needs at least one check.")
        self.checks = tuple(checks)
        self.name = name

    @abstractmethod
    def _pick(self, scores: list[float]) -> float:
        """Combine the scores of the checks that ran."""

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Run the checks in order until the outcome is settled."""
        scored: _Scored = []
        for check in self.checks:
            with _carrying(scored, check):
                result = check.evaluate(messages, answer, previous=previous)
            scored.append((check, result))
            if result.score == self.decisive:
                break
        return _combine(self._pick([r.score for _, r in scored]), scored)

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`; sequential, to keep the short-circuit."""
        scored: _Scored = []
        for check in self.checks:
            with _carrying(scored, check):
                result = await check.aevaluate(messages, answer, previous=previous)
            scored.append((check, result))
            if result.score == self.decisive:
                break
        return _combine(self._pick([r.score for _, r in scored]), scored)


class AllOf(_FirstDecisive):
    """Scores the lowest of its checks' scores: every check must pass."""

    decisive = 0.0

    def __init__(self, checks: Sequence[QualityCheck], *, name: str = "all_of") -> None:
        """Create the check; ``checks`` run in this order, so put cheap ones first."""
        super().__init__(checks, name=name)

    def _pick(self, scores: list[float]) -> float:
        return min(scores)


class AnyOf(_FirstDecisive):
    """Scores the highest of its checks' scores: one passing check is enough."""

    decisive = 1.0

    def __init__(self, checks: Sequence[QualityCheck], *, name: str = "any_of") -> None:
        """Create the check; ``checks`` run in this order, so put cheap ones first."""
        super().__init__(checks, name=name)

    def _pick(self, scores: list[float]) -> float:
        return max(scores)


class Weighted(BaseCheck):
    """Scores the weighted mean of its checks' scores (all checks always run)."""

    def __init__(
        self, checks: Sequence[QualityCheck], weights: Sequence[float], *, name: str = "weighted"
    ) -> None:
        """Create the check.

        Args:
            checks: The checks to combine.
            weights: One non-negative weight per check, not all zero.
            name: Label of the check in ledger reasons.
        """
        if len(checks) != len(weights) or not checks:
            raise ValueError(
                f"Weighted needs one weight per check, got {len(weights)} weights "
                f"for {len(checks)} checks."
            )
        if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
            raise ValueError(f"Weights must be >= 0 and not all 0, got {list(weights)}.")
        self.checks = tuple(checks)
        self.weights = tuple(float(w) for w in weights)
        self.name = name

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Run every check and average their scores by weight."""
        scored: _Scored = []
        for check in self.checks:
            with _carrying(scored, check):
                scored.append((check, check.evaluate(messages, answer, previous=previous)))
        return self._mean([result for _, result in scored])

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`; the checks run concurrently, and all of them end
        before one's error is raised, carrying the others' paid replies and failures.
        Cancelled, it ends them too, and its cancellation carries what the finished ones
        paid, names the ones it cut off and those that failed (checks/_at_once.py)."""
        return self._mean(await all_results(self.checks, messages, answer, previous))

    def _mean(self, results: list[CheckResult]) -> CheckResult:
        total = math.fsum(w * r.score for w, r in zip(self.weights, results, strict=True))
        return _combine(
            total / math.fsum(self.weights), list(zip(self.checks, results, strict=True))
        )
