"""A judge that failed or was cancelled: what it leaves in the call's record.

`_verdicts._check_raised` hands over a check that raised. A judge whose provider failed
leaves a failed attempt of its model (the status and error, $0) and an unverified
answer, or stops the call with a `ProviderError` naming it when the fault is fatal
(`judge_failed`); a judge cut off by a cancellation is billed on its prompt
(`judge_cancelled`). `Weighted` runs its judges at once: those whose provider failed
besides the one its error names, or before its cancellation
(`checks.base.take_failed_checks`), leave their failed attempts as well
(`judges_failed`), though that error or the cancellation is what is raised.
"""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter._child_models import ROUTER_LLM_TYPE, model_id_of
from langchain_costrouter._secrets import error_text
from langchain_costrouter.checks.base import CheckResult, QualityCheck
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._attempts import failed_record
from langchain_costrouter.router._faults import ProviderFault, classify
from langchain_costrouter.router._request import Request
from langchain_costrouter.routes import Deployment


def judge_failed(
    request: Request,
    check: QualityCheck,
    failed: QualityCheck,
    answered: AttemptRecord,
    error: Exception,
    others: Iterable[tuple[QualityCheck, Exception]] = (),
) -> CheckResult:
    """The verdict on an answer whose ``check`` could not run because the model of
    ``failed`` (the check itself, or the judge inside a composite that raised, see
    `checks.base.carry_failed_check`) failed: unverified, so it scores 0 and the
    cascade escalates, as it does past a provider fault; the judge's call is recorded as
    a failed attempt of that judge's model, then those of the ``others`` that failed
    with it (a `Weighted`'s judges, `checks.base.take_failed_checks`).

    A fatal error (a bad key, a bad request) is raised as a `ProviderError` naming that
    judge: every call's judge would fail the same way. Anything else a check raises is a
    bug in it, and propagates as it is.
    """
    fault = classify(error)
    if fault is None:
        raise error
    llm = getattr(failed, "llm", None)
    model = _failed_attempt(request, failed, answered, fault)
    judges_failed(request, answered, others)
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


def judges_failed(
    request: Request,
    answered: AttemptRecord,
    failures: Iterable[tuple[QualityCheck, Exception]],
) -> None:
    """Record the failed calls of judges whose provider failed beside the one a check's
    error names, or before the call was cancelled, each as `judge_failed` records its
    own; nothing is raised for them. What a check raised that is no provider fault (a
    bug in it) made no call, and leaves no attempt."""
    for failed, error in failures:
        fault = classify(error)
        if fault is not None:
            _failed_attempt(request, failed, answered, fault)


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


def _failed_attempt(
    request: Request, failed: QualityCheck, answered: AttemptRecord, fault: ProviderFault
) -> str:
    """Append the failed call of ``failed``'s model as an attempt of the call, on the
    tier of the answer it judged; returns the model's name."""
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
    return model
