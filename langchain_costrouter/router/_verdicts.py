"""What a quality check leaves in the call's record: its verdict, the judge's own calls,
and a judge that failed or was cancelled.

`router._cascade` runs the check (a `RunCheck` step); this module writes down what came
of it, as `_attempts` does for the provider attempts: a judge's calls become attempts of
the call (priced, or a routed judge's own), a judge whose provider failed leaves a
failed attempt and an unverified answer, and a judge cut off by a cancellation is billed
on its prompt.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter._secrets import error_text
from langchain_costrouter.checks.base import CheckResult, QualityCheck
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._attempts import failed_record
from langchain_costrouter.router._compress import routed_attempts
from langchain_costrouter.router._faults import classify
from langchain_costrouter.router._request import Request
from langchain_costrouter.routes import ROUTER_LLM_TYPE, Deployment, model_id_of


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
    judged = routed = 0.0
    for side_call in result.cost_messages:
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
    return result.score, judged, routed


def judge_failed(
    request: Request, check: QualityCheck, answered: AttemptRecord, error: Exception
) -> CheckResult:
    """The verdict on an answer whose check could not run because its model failed (a
    judge's provider error): unverified, so it scores 0 and the cascade escalates, as it
    does past a provider fault; the judge's call is recorded as a failed attempt.

    A fatal error (a bad key, a bad request) is raised as a `ProviderError`: every call's
    judge would fail the same way. Anything else a check raises is a bug in it, and
    propagates as it is.
    """
    fault = classify(error)
    if fault is None:
        raise error
    llm = getattr(check, "llm", None)
    model = model_id_of(llm) if isinstance(llm, BaseChatModel) else check.name
    failed = failed_record(
        Deployment(model=llm, model_id=model, provider="judge"),  # type: ignore[arg-type]
        answered.get("tier", 0),
        f"quality check of {answered.get('model')} failed: error: {fault.kind}",
        fault,
        None,
    )
    failed["role"] = "judge"
    request.attempts.append(failed)
    text = f"{fault.error_type}: {error_text(error, llm)}"
    if not fault.escalates:
        final = ProviderError(
            f"The quality check {check.name!r} could not judge {answered.get('model')}'s "
            f"answer: its model {model} rejected the request ({text}). This is not "
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
