"""A quality check's judge model that fails, with the real ``ChatOpenAI`` over HTTP.

The cheap answer was paid for; a judge that cannot answer leaves it unverified, so the
call escalates (a transient fault) or says what to fix (a fatal one), and the judge's
failed call is an attempt of the record and a row of the ledger either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from langchain_costrouter import (
    Budget,
    CircuitBreakers,
    ModelPrice,
    PriceTable,
    ProviderError,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.budgets import BudgetGate, CallContext
from langchain_costrouter.checks import AllOf, AnyOf, JudgeCheck, QualityCheck, Weighted
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.dollars import usd
from langchain_costrouter.ledger.memory import InMemoryLedger
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

PRICES = PriceTable(
    {
        "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.6),
        "gpt-4o": ModelPrice(input_per_mtok=2.5, output_per_mtok=10),
        "judge-model": ModelPrice(input_per_mtok=0.1, output_per_mtok=0.4),
        "judge-b": ModelPrice(input_per_mtok=0.1, output_per_mtok=0.4),
    }
)
CHAT = CallContext("chat", {})


def _router(
    server: LocalOpenAIServer,
    ledger: InMemoryLedger,
    *,
    budgets: Any = (),
    check: QualityCheck | None = None,
    **judge: Any,
) -> RoutedChatModel:
    check = check or JudgeCheck(openai_chat(server, "judge-model", **judge))
    route = Route(
        tiers=(
            Tier.of(openai_chat(server, "gpt-4o-mini"), check=check),
            Tier.of(openai_chat(server, "gpt-4o")),
        )
    )
    return RoutedChatModel(
        routes={"chat": route},
        default_task="chat",
        prices=PRICES,
        ledger=ledger,
        budgets=list(budgets),
        retry=RetryPolicy(backoff_base=0, backoff_cap=0),
        breakers=CircuitBreakers(),
    )


@pytest.mark.parametrize("fault", ["500", "429", "timeout"])
@pytest.mark.parametrize("awaited", [False, True], ids=["invoke", "ainvoke"])
def test_a_judge_that_fails_on_a_transient_fault_escalates_and_is_recorded(
    openai_server: LocalOpenAIServer, fault: str, awaited: bool
) -> None:
    openai_server.script([Fault(fault, retry_after=0, seconds=5)], model="judge-model")  # type: ignore[arg-type]
    ledger = InMemoryLedger()
    router = _router(openai_server, ledger, timeout=0.3)
    call = router.ainvoke("Hello") if awaited else None
    answer = asyncio.run(call) if call is not None else router.invoke("Hello")

    assert answer.response_metadata["model_name"] == "gpt-4o"
    record = answer.response_metadata["costrouter"]
    cheap, judged, strong = record["attempts"]
    assert cheap["model"] == "gpt-4o-mini" and cheap["cost_usd"] > 0
    assert cheap["reason"].startswith("escalated: score 0.000")
    assert "judge-model failed" in cheap["check_reason"]
    assert judged["role"] == "judge" and judged["model"] == "judge-model"
    assert judged["cost_usd"] == 0.0 and judged["error"]
    assert judged["reason"].startswith("quality check of gpt-4o-mini failed")
    assert strong["model"] == "gpt-4o" and strong["accepted"] is True
    rows = ledger.rows()
    assert [row.model for row in rows] == ["gpt-4o-mini", "judge-model", "gpt-4o"]
    assert sum((row.cost_usd or Decimal(0) for row in rows), Decimal(0)) == usd(record["cost_usd"])


def test_a_judge_the_provider_rejects_is_a_provider_error_naming_it(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Fault("400", message="Incorrect API key provided")], model="judge-model")
    ledger = InMemoryLedger()
    with pytest.raises(ProviderError, match="judge-model") as raised:
        _router(openai_server, ledger).invoke("Hello")

    assert raised.value.retryable is False and raised.value.model == "judge-model"
    assert "API key" in str(raised.value)
    assert [a["model"] for a in raised.value.attempts] == ["gpt-4o-mini", "judge-model"]
    rows = ledger.rows()
    assert [(row.model, row.role) for row in rows] == [
        ("gpt-4o-mini", "answer"),
        ("judge-model", "judge"),
    ]
    assert rows[0].cost_usd is not None and rows[0].cost_usd > 0  # the answer was paid for
    assert rows[1].status_code == 400
    assert openai_server.request_count("gpt-4o") == 0


def test_a_judge_that_answers_is_billed_as_before(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("Fine. Rating: [[9]]")], model="judge-model")
    ledger = InMemoryLedger()
    answer = _router(openai_server, ledger).invoke("Hello")
    record = answer.response_metadata["costrouter"]
    assert [a["model"] for a in record["attempts"]] == ["gpt-4o-mini", "judge-model"]
    assert record["attempts"][1]["cost_usd"] > 0
    assert sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0)) == usd(
        record["cost_usd"]
    )


def test_a_call_cancelled_while_its_judge_runs_bills_the_judge_s_prompt(
    openai_server: LocalOpenAIServer,
) -> None:
    """As a provider call cancelled in flight is billed on its prompt (`_record.fail`),
    in the ledger and on the call's budget."""
    openai_server.set_latency(5.0, model="judge-model")
    ledger = InMemoryLedger()
    router = _router(openai_server, ledger, budgets=[Budget(name="all", limit_usd=1)])

    async def cancelled_while_judged() -> None:
        call = asyncio.create_task(router.ainvoke("Hello"))
        while openai_server.request_count("judge-model") == 0:
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled_while_judged())

    cheap, judged = ledger.rows()
    assert cheap.model == "gpt-4o-mini" and cheap.reason == "not judged: cancelled (CancelledError)"
    assert (judged.model, judged.role, judged.reason) == (
        "judge-model",
        "judge",
        "cancelled (CancelledError)",
    )
    assert judged.usage_estimated is True
    assert (judged.request_model, judged.response_model) == ("judge-model", None)  # unanswered
    assert judged.input_tokens >= openai_server.prompt_tokens_total("judge-model") > 0
    assert judged.cost_usd is not None and judged.cost_usd > 0
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    ((spent, reserved),) = [(s.spent_usd, s.reserved_usd) for s in gate.status(CHAT)]
    assert (spent, reserved) == (cheap.cost_usd + judged.cost_usd, 0)  # type: ignore[operator]


def _two_judges(server: LocalOpenAIServer, fault: Fault | Reply) -> tuple[JudgeCheck, JudgeCheck]:
    """The first judge answers (paid), the second one's provider plays ``fault``."""
    server.script([Reply("Fine. Rating: [[9]]")], model="judge-model")
    server.script([fault], model="judge-b")
    first = JudgeCheck(openai_chat(server, "judge-model"), name="judge_a")
    return first, JudgeCheck(openai_chat(server, "judge-b"), name="judge_b")


@pytest.mark.parametrize("awaited", [False, True], ids=["invoke", "ainvoke"])
def test_a_composite_whose_second_judge_fails_bills_the_first_judge_s_reply(
    openai_server: LocalOpenAIServer, awaited: bool
) -> None:
    """The first judge's paid reply is an attempt, a ledger row and a budget charge,
    though the second judge's fault ended the check (unverified: the call escalates);
    the failed attempt is that judge's, not the composite's."""
    ledger = InMemoryLedger()
    check = AllOf(list(_two_judges(openai_server, Fault("500"))))
    router = _router(openai_server, ledger, check=check, budgets=[Budget(name="all", limit_usd=1)])
    call = router.ainvoke("Hello") if awaited else None
    answer = asyncio.run(call) if call is not None else router.invoke("Hello")

    record = answer.response_metadata["costrouter"]
    attempts = record["attempts"]
    assert [a["model"] for a in attempts] == ["gpt-4o-mini", "judge-model", "judge-b", "gpt-4o"]
    judged, failed = attempts[1], attempts[2]
    assert judged["role"] == "judge" and judged["cost_usd"] > 0
    assert (failed["role"], failed["request_model"], failed["status_code"]) == (
        "judge",
        "judge-b",
        500,
    )
    assert "the judge judge-b failed" in attempts[0]["check_reason"]
    assert attempts[3]["accepted"] is True
    rows = ledger.rows()
    assert [row.model for row in rows] == ["gpt-4o-mini", "judge-model", "judge-b", "gpt-4o"]
    total = sum((row.cost_usd or Decimal(0) for row in rows), Decimal(0))
    assert total == usd(record["cost_usd"])
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    ((spent, reserved),) = [(s.spent_usd, s.reserved_usd) for s in gate.status(CHAT)]
    assert (spent, reserved) == (total, Decimal(0))


def _all_of(first: QualityCheck, second: QualityCheck) -> QualityCheck:
    return AllOf([first, second])


def _nested(first: QualityCheck, second: QualityCheck) -> QualityCheck:
    return AnyOf([AllOf([first, second], name="both")], name="either")


def _weighted(first: QualityCheck, second: QualityCheck) -> QualityCheck:
    return Weighted([first, second], [1, 1], name="mean")


@pytest.mark.parametrize(
    ("composite", "name"), [(_all_of, "all_of"), (_nested, "either"), (_weighted, "mean")]
)
def test_a_composite_whose_second_judge_is_rejected_raises_naming_that_judge(
    openai_server: LocalOpenAIServer,
    composite: Callable[[QualityCheck, QualityCheck], QualityCheck],
    name: str,
) -> None:
    """The error names the judge whose model refused (judge_b, model judge-b) and the
    tier's check it sits in, and the first judge's reply is billed."""
    ledger = InMemoryLedger()
    first, second = _two_judges(openai_server, Fault("400", message="Incorrect API key provided"))
    with pytest.raises(ProviderError) as raised:
        _router(openai_server, ledger, check=composite(first, second)).invoke("Hello")

    error = raised.value
    assert (error.model, error.provider, error.retryable) == ("judge-b", "judge", False)
    assert f"The quality check {name!r} could not judge gpt-4o-mini's answer" in str(error)
    assert "its check 'judge_b' (model judge-b) rejected the request" in str(error)
    assert f"model {name}" not in str(error)  # the composite has no model
    models = ["gpt-4o-mini", "judge-model", "judge-b"]
    assert [a["model"] for a in error.attempts] == models
    judged = error.attempts[1]["cost_usd"]
    assert isinstance(judged, float) and judged > 0
    rows = ledger.rows()
    assert [row.model for row in rows] == models
    assert rows[1].cost_usd is not None and rows[1].cost_usd > 0
    assert (rows[2].status_code, rows[2].request_model) == (400, "judge-b")


def test_a_call_cancelled_while_a_composite_s_second_judge_runs_bills_both_judges(
    openai_server: LocalOpenAIServer,
) -> None:
    """The first judge's reply, and the second judge's prompt (it was asked, never
    answered), as a plain judge cut off is billed."""
    openai_server.set_latency(5.0, model="judge-b")
    ledger = InMemoryLedger()
    first, second = _two_judges(openai_server, Reply("Rating: [[9]]"))
    check = AllOf([first, second])
    router = _router(openai_server, ledger, check=check, budgets=[Budget(name="all", limit_usd=1)])

    async def cancelled_while_judged() -> None:
        call = asyncio.create_task(router.ainvoke("Hello"))
        while openai_server.request_count("judge-b") == 0:
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled_while_judged())

    cheap, judged, cut = ledger.rows()
    assert cheap.reason == "not judged: cancelled (CancelledError)"
    assert (judged.model, judged.role) == ("judge-model", "judge")
    assert judged.cost_usd is not None and judged.cost_usd > 0
    assert (cut.model, cut.role, cut.reason) == ("judge-b", "judge", "cancelled (CancelledError)")
    assert cut.usage_estimated is True and cut.response_model is None
    assert cut.input_tokens >= openai_server.prompt_tokens_total("judge-b") > 0
    assert cut.cost_usd is not None and cut.cost_usd > 0
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    ((spent, reserved),) = [(s.spent_usd, s.reserved_usd) for s in gate.status(CHAT)]
    assert (spent, reserved) == (cheap.cost_usd + judged.cost_usd + cut.cost_usd, Decimal(0))  # type: ignore[operator]


@pytest.mark.parametrize(
    "composite", [_all_of, _nested, _weighted], ids=["all_of", "nested", "weighted"]
)
def test_an_unpriced_judge_inside_a_composite_is_refused_before_any_judge_is_asked(
    openai_server: LocalOpenAIServer,
    composite: Callable[[QualityCheck, QualityCheck], QualityCheck],
) -> None:
    """Under a budget, a judge whose model has no price is refused before it is asked,
    however deep a composite holds it, as a plain judge is: it was asked, paid for, and
    refused only once it answered (its cost unknown to every budget)."""
    openai_server.script([Reply("Fine. Rating: [[9]]")], model="judge-model")
    openai_server.script([Reply("Fine. Rating: [[9]]")], model="judge-unpriced")
    priced = JudgeCheck(openai_chat(openai_server, "judge-model"), name="judge_a")
    unpriced = JudgeCheck(openai_chat(openai_server, "judge-unpriced"), name="judge_u")
    ledger = InMemoryLedger()
    check = composite(priced, unpriced)
    router = _router(openai_server, ledger, check=check, budgets=[Budget(name="all", limit_usd=1)])
    with pytest.raises(ConfigError) as refused:
        router.invoke("Hello")

    assert "model 'judge-unpriced' has no price" in str(refused.value)
    assert "the call is refused before the judge is asked" in str(refused.value)
    assert refused.value.key == "judge-unpriced"
    assert openai_server.request_count("judge-unpriced") == 0
    assert openai_server.request_count("judge-model") == 0
    (cheap,) = ledger.rows()  # the answer was paid for; no judge ran
    assert cheap.model == "gpt-4o-mini" and cheap.cost_usd is not None and cheap.cost_usd > 0
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    ((spent, reserved),) = [(s.spent_usd, s.reserved_usd) for s in gate.status(CHAT)]
    assert (spent, reserved) == (cheap.cost_usd, Decimal(0))


class _Noting(JudgeCheck):
    """A judge that says when its verdict is in, so a test can cancel right after."""

    verdicts: int = 0

    async def aevaluate(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().aevaluate(*args, **kwargs)
        self.verdicts += 1
        return result


@pytest.mark.parametrize("nested", [False, True], ids=["weighted", "weighted-in-all-of"])
def test_a_call_cancelled_while_a_weighted_check_s_slow_judge_runs_bills_both_judges(
    openai_server: LocalOpenAIServer, nested: bool
) -> None:
    """Weighted runs its judges at once: cancelled while the slow one runs, the fast
    one's paid reply was lost with the gather, and the slow one (asked, never answered)
    was billed nothing, as the composite named no judge. Both are billed now, as in
    ``AllOf``: the reply as it was, the cut judge on its prompt."""
    openai_server.set_latency(5.0, model="judge-b")
    openai_server.script([Reply("Fine. Rating: [[9]]")], model="judge-model")
    fast = _Noting(openai_chat(openai_server, "judge-model"), name="judge_a")
    slow = JudgeCheck(openai_chat(openai_server, "judge-b"), name="judge_b")
    check: QualityCheck = Weighted([fast, slow], [1, 1], name="mean")
    check = AllOf([check]) if nested else check
    ledger = InMemoryLedger()
    router = _router(openai_server, ledger, check=check, budgets=[Budget(name="all", limit_usd=1)])

    async def cancelled_while_judged() -> None:
        call = asyncio.create_task(router.ainvoke("Hello"))
        while not (fast.verdicts and openai_server.request_count("judge-b")):
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled_while_judged())

    cheap, judged, cut = ledger.rows()
    assert cheap.reason == "not judged: cancelled (CancelledError)"
    assert (judged.model, judged.role, judged.error) == ("judge-model", "judge", None)
    assert judged.cost_usd is not None and judged.cost_usd > 0
    assert (cut.model, cut.role, cut.reason) == ("judge-b", "judge", "cancelled (CancelledError)")
    assert cut.usage_estimated is True and cut.response_model is None
    assert cut.input_tokens >= openai_server.prompt_tokens_total("judge-b") > 0
    assert cut.cost_usd is not None and cut.cost_usd > 0
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    ((spent, reserved),) = [(s.spent_usd, s.reserved_usd) for s in gate.status(CHAT)]
    assert (spent, reserved) == (cheap.cost_usd + judged.cost_usd + cut.cost_usd, Decimal(0))  # type: ignore[operator]
