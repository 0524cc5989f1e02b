"""The one quality-check protocol the cascade uses to accept or escalate an answer.

A check looks only at what a live system sees: the request messages, the candidate
answer and the answers of the tiers tried before it. It returns a `CheckResult`: a
score in [0, 1] (the tier's threshold turns it into accept or escalate), a reason for
the ledger, and the answers of any paid calls it made itself (a judge's reply), so
the cascade can bill each as an attempt. `evaluate` is blocking and `aevaluate`
awaited; `BaseCheck` gives checks that do no I/O their async twin for free.

A composite (`compose.AllOf`, `AnyOf`, `Weighted`) holds its checks in ``checks``;
`checks_within` walks them, so the cascade sees every judge's model before the check
runs (under budgets an unpriced one is refused before it is asked).

A check that raises after some of its paid calls answered (a composite whose second
judge failed) still owes them to the ledger: `carry_paid_calls` puts their answers on
the error it lets propagate, and the cascade bills `paid_calls_of` it. A composite has
no model of its own, so it names the check inside it that raised (`carry_failed_check`):
the cascade records that judge's model as the one that failed (`take_failed_check`).
A cancellation that cut off several judges running at once names them all
(`carry_cut_checks`), and the judges whose provider had failed before it, each with its
error (`carry_failed_checks`), since the cancellation, not their error, is raised; so
does the error of the first of several judges that failed at once, for the others.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from langchain_core.messages import AIMessage, BaseMessage


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
class QualityCheck(Protocol):
    """Scores a candidate answer, says why, and reports its own paid calls; sync and async."""

    name: str

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Judge ``answer`` to ``messages``; ``previous`` are lower tiers' answers."""
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
        """Judge ``answer`` to ``messages``; ``previous`` are lower tiers' answers."""

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`; the default suits checks that do no I/O."""
        return self.evaluate(messages, answer, previous=previous)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


_PAID_CALLS = "costrouter_paid_calls"
_FAILED_CHECK = "costrouter_failed_check"
_CUT_CHECKS = "costrouter_cut_checks"
_FAILED_CHECKS = "costrouter_failed_checks"


def carry_paid_calls(error: BaseException, replies: Iterable[AIMessage]) -> None:
    """Put ``replies`` (answers of paid calls made before ``error`` was raised) on it,
    ahead of those it carries already (a nested check's, made after them).

    Written to the error's own attributes, as its type cannot be changed: callers catch
    the provider's error as it was raised. Any exception carries them (even a frozen one).
    """
    earlier = tuple(replies)
    if earlier:
        vars(error)[_PAID_CALLS] = earlier + paid_calls_of(error)


def paid_calls_of(error: BaseException) -> tuple[AIMessage, ...]:
    """The answers of paid calls a check made before it raised ``error`` (see
    `carry_paid_calls`); the cascade records each as an attempt."""
    carried: tuple[AIMessage, ...] = getattr(error, _PAID_CALLS, ())
    return carried


def take_paid_calls(error: BaseException) -> tuple[AIMessage, ...]:
    """`paid_calls_of`, removed from ``error``: billed once, even when a model raises the
    same exception object again on a later call."""
    carried: tuple[AIMessage, ...] = vars(error).pop(_PAID_CALLS, ())
    return carried


def carry_failed_check(error: BaseException, check: QualityCheck) -> None:
    """Name on ``error`` the ``check`` it came out of, unless a check nested deeper
    named itself first: the innermost one is the judge whose model failed. Written to
    the error's own attributes, as `carry_paid_calls` writes its replies."""
    vars(error).setdefault(_FAILED_CHECK, check)


def failed_check_of(error: BaseException) -> QualityCheck | None:
    """The innermost check ``error`` came out of, as a composite named it (None: no
    composite saw it, so the check that raised it is the one the caller ran)."""
    failed: QualityCheck | None = getattr(error, _FAILED_CHECK, None)
    return failed


def take_failed_check(error: BaseException) -> QualityCheck | None:
    """`failed_check_of`, removed from ``error``: a model that raises the same exception
    object again, under another check, is not misnamed by this one."""
    failed: QualityCheck | None = vars(error).pop(_FAILED_CHECK, None)
    return failed


def carry_cut_checks(cancelled: BaseException, checks: Iterable[QualityCheck]) -> None:
    """Name on a cancellation every check it cut off while they ran at once (a
    `compose.Weighted`'s judges), as `carry_failed_check` names the one running alone:
    the cascade bills each cut judge on its prompt, since each was asked."""
    cut = tuple(checks)
    if cut:
        vars(cancelled)[_CUT_CHECKS] = cut


def take_cut_checks(cancelled: BaseException) -> tuple[QualityCheck, ...]:
    """The checks `carry_cut_checks` named, removed from ``cancelled``: billed once."""
    cut: tuple[QualityCheck, ...] = vars(cancelled).pop(_CUT_CHECKS, ())
    return cut


def carry_failed_checks(
    error: BaseException, failures: Iterable[tuple[QualityCheck, Exception]]
) -> None:
    """Name on what a composite raises (its first check's error, or its cancellation)
    the other checks that had raised while they ran at once (a `compose.Weighted`'s
    judges), each with its error, after those it names already (a nested composite's):
    the cascade records each judge's failed call, as it records the judge the raised
    error names (`carry_failed_check`)."""
    failed = tuple(failures)
    if failed:
        vars(error)[_FAILED_CHECKS] = vars(error).get(_FAILED_CHECKS, ()) + failed


def take_failed_checks(error: BaseException) -> tuple[tuple[QualityCheck, Exception], ...]:
    """The checks and errors `carry_failed_checks` named, removed from ``error``:
    recorded once."""
    failed: tuple[tuple[QualityCheck, Exception], ...] = vars(error).pop(_FAILED_CHECKS, ())
    return failed


def checks_within(check: QualityCheck) -> Iterator[QualityCheck]:
    """``check``, then every check a composite holds in its ``checks``, however deep.

    A composite has no model of its own: what its judges would cost shows only in the
    checks inside it, and the cascade refuses an unpriced one before it is asked
    (`router/_verdicts.py`, `run_check`). Read by duck type, so a user's composite with
    a ``checks`` sequence is walked too."""
    yield check
    inner = getattr(check, "checks", ())
    if isinstance(inner, (tuple, list)):
        for nested in inner:
            if isinstance(nested, QualityCheck):
                yield from checks_within(nested)
