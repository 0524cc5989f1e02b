"""Checks built from checks: all must pass (min), any may pass (max), or a weighted mean.

Nested checks' side calls (a judge's reply) are collected, so the ledger sees every
paid call however deep the judge sits; when one check raises, the replies the others
had already paid for travel on its error (`base.carry_paid_calls`), and so does the
check that raised it (`base.carry_failed_check`), whose model the cascade names; a
cancellation of `Weighted`, whose checks run at once, carries the replies of those that
finished and names those it cut off (`base.carry_cut_checks`). `AllOf` and
`AnyOf` run their checks in the order given and stop once the outcome is settled (a 0
for `AllOf`, a 1 for `AnyOf`): put the free checks first and a judge last, and a
refusal never pays for a judge.
"""

from __future__ import annotations

import asyncio
import math
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import (
    BaseCheck,
    CheckResult,
    QualityCheck,
    carry_cut_checks,
    carry_failed_check,
    carry_paid_calls,
    paid_calls_of,
    take_cut_checks,
    take_failed_check,
    take_paid_calls,
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
        before one's error is raised, carrying the others' paid replies. Cancelled, it
        ends them too, and its cancellation carries what the finished ones paid and names
        the ones it cut off (`base.carry_cut_checks`): each was paid for or asked."""
        tasks: list[asyncio.Task[CheckResult | BaseException]] = []
        try:
            async with asyncio.TaskGroup() as group:
                for check in self.checks:
                    settled = _settled(check, messages, answer, previous)
                    tasks.append(group.create_task(settled))
        except asyncio.CancelledError as cancelled:
            _carry_settled(cancelled, zip(self.checks, tasks, strict=True))
            raise
        outcomes = [task.result() for task in tasks]
        results = [r for r in outcomes if isinstance(r, CheckResult)]
        paired = zip(self.checks, outcomes, strict=True)
        errors = [(check, r) for check, r in paired if isinstance(r, BaseException)]
        if errors:
            (check, first), others = errors[0], [e for _, e in errors[1:]]
            paid = [m for r in results for m in r.cost_messages]
            paid += [m for e in others if e is not first for m in paid_calls_of(e)]
            carry_paid_calls(first, paid)
            carry_failed_check(first, check)
            raise first
        return self._mean(results)

    def _mean(self, results: list[CheckResult]) -> CheckResult:
        total = math.fsum(w * r.score for w, r in zip(self.weights, results, strict=True))
        return _combine(
            total / math.fsum(self.weights), list(zip(self.checks, results, strict=True))
        )


async def _settled(
    check: QualityCheck,
    messages: Sequence[BaseMessage],
    answer: AIMessage,
    previous: Sequence[AIMessage],
) -> CheckResult | BaseException:
    """What ``check`` came to: its result, or what it raised, a cancellation too, so a
    composite running its checks at once sees every one end and bills what each paid."""
    try:
        return await check.aevaluate(messages, answer, previous=previous)
    except BaseException as error:  # raised again by the composite, with the others' replies
        return error


def _carry_settled(
    cancelled: BaseException,
    ended: Iterable[tuple[QualityCheck, asyncio.Task[CheckResult | BaseException]]],
) -> None:
    """Put on ``cancelled`` the replies of the checks that answered or raised before it,
    and name the judges it cut off (the innermost, in a nested composite). A check whose
    task never started asked no judge."""
    paid: list[AIMessage] = []
    cut: list[QualityCheck] = []
    for check, task in ended:
        outcome = None if task.cancelled() else task.result()
        if isinstance(outcome, CheckResult):
            paid += outcome.cost_messages
        elif outcome is not None:
            paid += take_paid_calls(outcome)
            if isinstance(outcome, asyncio.CancelledError):
                cut += take_cut_checks(outcome) or [take_failed_check(outcome) or check]
    carry_paid_calls(cancelled, paid)
    carry_cut_checks(cancelled, cut)
