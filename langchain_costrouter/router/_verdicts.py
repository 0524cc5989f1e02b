"""What a quality check leaves in the call's record: its verdict, the judge's own calls,
and a judge that failed or was cancelled.

`router._cascade` asks for a tier's check; `run_check` yields it (a `RunCheck` step) and
the budget charges of its calls, and writes down what came of it, as `_attempts` does
for the provider attempts: a judge's calls become attempts of the call (priced, or a
routed judge's own), those of a check that raised after they answered too, a judge
whose provider failed leaves a failed attempt and an unverified answer, and a judge cut
off by a cancellation is billed on its prompt.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter._child_models import ROUTER_LLM_TYPE, model_id_of
from langchain_costrouter._secrets import error_text
from langchain_costrouter.checks.base import (
    CheckResult,
    QualityCheck,
    checks_within,
    take_cut_checks,
    take_failed_check,
    take_paid_calls,
)
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.metadata import AttemptRecord, CallSink
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._attempts import failed_record
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._compress import (
    Nested,
    enter_nested,
    leave_nested,
    routed_attempts,
)
from langchain_costrouter.router._faults import classify
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Charge, RunCheck, Step
from langchain_costrouter.router._unpriced import refuse_unpriced, refuse_unpriced_model
from langchain_costrouter.routes import Deployment


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


def judge_failed(
    request: Request,
    check: QualityCheck,
    failed: QualityCheck,
    answered: AttemptRecord,
    error: Exception,
) -> CheckResult:
    """The verdict on an answer whose ``check`` could not run because the model of
    ``failed`` (the check itself, or the judge inside a composite that raised, see
    `checks.base.carry_failed_check`) failed: unverified, so it scores 0 and the
    cascade escalates, as it does past a provider fault; the judge's call is recorded as
    a failed attempt of that judge's model.

    A fatal error (a bad key, a bad request) is raised as a `ProviderError` naming that
    judge: every call's judge would fail the same way. Anything else a check raises is a
    bug in it, and propagates as it is.
    """
    fault = classify(error)
    if fault is None:
        raise error
    llm = getattr(failed, "llm", None)
    model = model_id_of(llm) if isinstance(llm, BaseChatModel) else failed.name
    attempt = failed_record(
        Deployment(model=llm, model_id=model, provider="judge"),  # type: ignore[arg-type]
        answered.get("tier", 0),
        f"quality check of {answered.get('model')} failed: error: {fault.kind}",
        fault,
        None,
    )
    attempt["role"] = "judge"
    request.attempts.append(attempt)
    text = f"{fault.error_type}: {error_text(error, llm)}"
    if not fault.escalates:
        its = f"its model {model}"
        if failed is not check:  # a check inside a composite, with its model if it has one
            its = f"its check {failed.name!r}"
            if isinstance(llm, BaseChatModel):
                its += f" (model {model})"
        final = ProviderError(
            f"The quality check {check.name!r} could not judge {answered.get('model')}'s "
            f"answer: {its} rejected the request ({text}). This is not "
            "retryable: check the judge's API key, model name and prompt.",
            model=model,
            provider="judge",
            retryable=False,
            kind=fault.kind,
        )
        final.attempts = [dict(a) for a in request.attempts]
        raise final from error
    return CheckResult(0.0, f"not verified: the judge {model} failed ({text[:120]})")


def judge_cancelled(
    request: Request,
    accountant: Accountant,
    check: QualityCheck,
    answered: AttemptRecord,
    asked: tuple[AIMessage, tuple[AIMessage, ...]],
    error: BaseException,
) -> float | None:
    """A call cancelled while its check ran: the answer was never judged, and a judge
    model already asked is billed on its prompt (``JudgeCheck.judge_prompt``), flagged as
    estimated, as a provider call cancelled in flight is (`_record.Recorder.fail`).
    Returns what it cost (None: nothing to bill); a judge that is a router bills its own
    cancelled attempt."""
    cancelled = f"cancelled ({type(error).__name__})"
    answered["reason"] = f"not judged: {cancelled}"
    llm, prompt_of = getattr(check, "llm", None), getattr(check, "judge_prompt", None)
    if not isinstance(llm, BaseChatModel) or llm._llm_type == ROUTER_LLM_TYPE:
        return None
    if not callable(prompt_of):
        return None
    prompt: list[BaseMessage] = prompt_of(request.messages, *asked)
    sent = model_id_of(llm)
    unanswered = AIMessage(content="", response_metadata={"model_name": sent})
    judged = accountant.side_call(unanswered, prompt, "judge")
    judged.pop("response_model", None)  # the judge was asked and never answered
    judged["request_model"] = sent
    judged.update(
        {
            "tier": answered.get("tier", 0),
            "accepted": False,
            "role": "judge",
            "reason": cancelled,
            "error": type(error).__name__,
            "usage_estimated": True,
        }
    )
    request.attempts.append(judged)
    return judged.get("cost_usd")


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
    the several a `Weighted` cut off at once (`take_cut_checks`)."""
    judged, routed = side_calls(request, accountant, record, take_paid_calls(error))
    failed = take_failed_check(error) or check
    if isinstance(error, Exception):  # a judge's provider fault, else a bug in the check
        yield from _charge(budgets, nested, judged, routed)
        return judge_failed(request, check, failed, record, error)
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
