"""What a quality check leaves in the call's record: its verdict, the judge's own calls,
and a judge that failed or was cancelled.

`router._cascade` asks for a tier's check; `run_check` yields it (a `RunCheck` step) and
the budget charges of its calls, and writes down what came of it, as `_attempts` does
for the provider attempts: a judge's calls become attempts of the call (priced, or a
routed judge's own), those of a check that raised after they answered too; a judge
whose provider failed leaves a failed attempt and an unverified answer, and a judge cut
off by a cancellation is billed on its prompt (router/_judge_faults.py).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage

from langchain_costrouter.checks.base import (
    CheckResult,
    QualityCheck,
    checks_within,
    take_cut_checks,
    take_failed_check,
    take_failed_checks,
    take_paid_calls,
)
from langchain_costrouter.metadata import AttemptRecord, CallSink
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._compress import (
    Nested,
    enter_nested,
    leave_nested,
    routed_attempts,
)
from langchain_costrouter.router._judge_faults import judge_cancelled, judge_failed, judges_failed
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Charge, RunCheck, Step
from langchain_costrouter.router._unpriced import refuse_unpriced, refuse_unpriced_model


def scored(
    request: Request, accountant: Accountant, record: AttemptRecord, result: CheckResult
) -> tuple[float, float, float]:
    """Note the check's verdict on the attempt; a judge's own calls become attempts (a
    routed judge's: that router's attempts, `_compress.routed_attempts`).

    Returns the score, what the judge's plain calls cost and what its routed calls cost
    (for the call's budgets: a router may have counted those already).
    """
    record["score"] = result.score
    if result.reason:
        record["check_reason"] = result.reason
    judged, routed = side_calls(request, accountant, record, result.cost_messages)
    return result.score, judged, routed


def side_calls(
    request: Request, accountant: Accountant, record: AttemptRecord, replies: Sequence[AIMessage]
) -> tuple[float, float]:
    """Record the judge's calls that answered (``replies``) as attempts of the call, on
    the tier of the answer they judged; returns what the plain and the routed ones cost.
    Also for a check that raised after some of them answered
    (`checks.base.paid_calls_of`): they were paid for all the same."""
    judged = routed = 0.0
    for side_call in replies:
        found = routed_attempts(side_call)
        sides = found or [accountant.side_call(side_call, request.messages, "judge")]
        for side in sides:
            side.update(
                {
                    "tier": record.get("tier", 0),
                    "accepted": False,
                    "role": "judge",
                    "reason": f"quality check of {record.get('model')}",
                }
            )
            request.attempts.append(side)
            if found is None:
                judged += side.get("cost_usd") or 0.0
            else:
                routed += side.get("cost_usd") or 0.0
    return judged, routed


def run_check(
    request: Request,
    accountant: Accountant,
    budgets: Budgets,
    ledger: CallSink | None,
    check: QualityCheck,
    record: AttemptRecord,
    asked: tuple[AIMessage, tuple[AIMessage, ...]],
) -> Generator[Step, Any, float]:
    """Run a tier's check on the answer ``asked`` (and the previous tiers'), as steps,
    and bill its calls. A judge whose model is a router on this call's ``ledger`` leaves
    its rows to this call, and the budgets it counted on this call's store are not
    charged again (`_compress.enter_nested`). Under budgets, a judge with no price (one
    inside a composite too, however deep: `checks.base.checks_within`) is refused before
    any judge is asked (`_unpriced.refuse_unpriced_model`), or, when only its
    answer tells its model, once its priced calls are charged (`_unpriced.refuse_unpriced`)."""
    for judge in checks_within(check):  # a composite has no model: its judges have
        refuse_unpriced_model("judge", getattr(judge, "llm", None), budgets)
    nested = enter_nested(ledger, budgets.gate, request.metadata)
    raised: BaseException | None = None
    try:
        result: CheckResult = yield RunCheck(check, *asked)
    except BaseException as error:  # a judge's fault, a bug in the check, or cancelled
        raised = error
    finally:
        leave_nested(nested)
    first_side = len(request.attempts)
    if raised is not None:
        result = yield from _check_raised(
            request, accountant, budgets, check, record, asked, raised, nested
        )
    score, judged, routed = scored(request, accountant, record, result)
    yield from _charge(budgets, nested, judged, routed)
    if budgets.enabled:
        refuse_unpriced("judge", request.attempts[first_side:])
    return score


def _check_raised(
    request: Request,
    accountant: Accountant,
    budgets: Budgets,
    check: QualityCheck,
    record: AttemptRecord,
    asked: tuple[AIMessage, tuple[AIMessage, ...]],
    error: BaseException,
    nested: Nested,
) -> Generator[Step, Any, CheckResult]:
    """The check raised. The judges that had answered first (a composite's, carried on
    the error by `checks.base.carry_paid_calls`) are billed all the same; then a judge's
    fault leaves the answer unverified (`judge_failed`: escalate, or raise a fatal one),
    and a cancellation bills the judge it cut off and is raised again. Either is the
    judge that raised: a composite's names the one inside it (`take_failed_check`), or
    the several a `Weighted` cut off at once (`take_cut_checks`); a `Weighted`'s other
    judges that failed are failed attempts as well (`take_failed_checks`)."""
    judged, routed = side_calls(request, accountant, record, take_paid_calls(error))
    failed = take_failed_check(error) or check
    if isinstance(error, Exception):  # a judge's provider fault, else a bug in the check
        yield from _charge(budgets, nested, judged, routed)
        return judge_failed(request, check, failed, record, error, take_failed_checks(error))
    judges_failed(request, record, take_failed_checks(error))
    for cut in take_cut_checks(error) or (failed,):  # a Weighted's judges cut at once
        judged += judge_cancelled(request, accountant, cut, record, asked, error) or 0.0
    if not isinstance(error, GeneratorExit):  # carried to its end (budgets/to_the_end.py)
        yield from _charge(budgets, nested, judged, routed)
    raise error


def _charge(budgets: Budgets, nested: Nested, judged: float, routed: float) -> Iterator[Step]:
    """Count a judge's calls on the call's budgets: its plain calls, and its routed ones
    except on the accounts the routing judge counted already."""
    if budgets.enabled:
        if judged:
            yield Charge("judge", judged)
        if routed:
            yield Charge("judge", routed, counted=nested.skip())
