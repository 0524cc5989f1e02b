"""Checks run at once (`compose.Weighted`'s, awaited): every one ends, and what each
paid for and how each failed travel on what the composite raises.

Each check settles to its result or what it raised (`_settled`), so none is lost when
another fails. The first error, in the checks' order, is raised carrying the replies
the others paid for (`base.carry_paid_calls`), the check it came out of
(`base.carry_failed_check`) and the other checks that failed, each with its error
(`base.carry_failed_checks`): the cascade records every failed judge's call. Cancelled
(a call cancelled or timed out), the composite lets them all end, then its cancellation
carries the finished ones' replies and names the judges it cut off
(`base.carry_cut_checks`, billed on their prompts) and those that had failed before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import (
    CheckResult,
    QualityCheck,
    carry_cut_checks,
    carry_failed_check,
    carry_failed_checks,
    carry_paid_calls,
    paid_calls_of,
    take_cut_checks,
    take_failed_check,
    take_failed_checks,
    take_paid_calls,
)


async def all_results(
    checks: Sequence[QualityCheck],
    messages: Sequence[BaseMessage],
    answer: AIMessage,
    previous: Sequence[AIMessage],
) -> list[CheckResult]:
    """Every check's result, the checks run at once; or the first one's error, once all
    ended, carrying what the others paid and how they failed."""
    tasks: list[asyncio.Task[CheckResult | BaseException]] = []
    try:
        async with asyncio.TaskGroup() as group:
            for check in checks:
                tasks.append(group.create_task(_settled(check, messages, answer, previous)))
    except asyncio.CancelledError as cancelled:
        _carry_settled(cancelled, zip(checks, tasks, strict=True))
        raise
    outcomes = [task.result() for task in tasks]
    results = [outcome for outcome in outcomes if isinstance(outcome, CheckResult)]
    paired = zip(checks, outcomes, strict=True)
    errors = [(check, r) for check, r in paired if isinstance(r, BaseException)]
    if errors:
        (check, first), rest = errors[0], errors[1:]
        others = [(c, e) for c, e in rest if e is not first]
        paid = [m for r in results for m in r.cost_messages]
        paid += [m for _, e in others for m in paid_calls_of(e)]
        carry_paid_calls(first, paid)
        carry_failed_check(first, check)
        carry_failed_checks(first, _failures(others))
        raise first
    return results


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


def _failures(
    raised: Iterable[tuple[QualityCheck, BaseException]],
) -> list[tuple[QualityCheck, Exception]]:
    """The judges that failed among checks that raised at once (the innermost, in a
    nested composite, and those it names in turn), each with its error."""
    failed: list[tuple[QualityCheck, Exception]] = []
    for check, error in raised:
        if isinstance(error, Exception):
            failed.append((take_failed_check(error) or check, error))
            failed += take_failed_checks(error)
    return failed


def _carry_settled(
    cancelled: BaseException,
    ended: Iterable[tuple[QualityCheck, asyncio.Task[CheckResult | BaseException]]],
) -> None:
    """Put on ``cancelled`` the replies of the checks that answered or raised before it,
    and name the judges it cut off and those that had failed, with their errors (the
    innermost, in a nested composite). A check whose task never started asked no judge."""
    paid: list[AIMessage] = []
    cut: list[QualityCheck] = []
    failed: list[tuple[QualityCheck, Exception]] = []
    for check, task in ended:
        outcome = None if task.cancelled() else task.result()
        if isinstance(outcome, CheckResult):
            paid += outcome.cost_messages
        elif outcome is not None:
            paid += take_paid_calls(outcome)
            if isinstance(outcome, asyncio.CancelledError):
                cut += take_cut_checks(outcome) or [take_failed_check(outcome) or check]
                failed += take_failed_checks(outcome)
            else:
                failed += _failures([(check, outcome)])
    carry_paid_calls(cancelled, paid)
    carry_cut_checks(cancelled, cut)
    carry_failed_checks(cancelled, failed)
