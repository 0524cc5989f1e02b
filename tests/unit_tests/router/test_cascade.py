"""The cascade over scripted children: escalate on a failed check or a fault, never lie."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import ModelAPIError, ModelAuthenticationError, ModelRateLimitError
from langchain_core.messages import AIMessage
from pydantic import BaseModel, SecretStr

from langchain_costrouter import (
    AllTiersFailedError,
    BudgetExceededError,
    CircuitBreakers,
    ProviderError,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.checks import FunctionCheck, LabelSet, NotRefusal, ValidJSON
from langchain_costrouter.errors import ConfigError, UnknownPriceWarning
from langchain_costrouter.testing.models import ScriptedChatModel

FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.0, backoff_cap=0.0)


def _router(route: Route, **kwargs: Any) -> RoutedChatModel:
    return RoutedChatModel(
        routes={"task": route},
        default_task="task",
        retry=FAST_RETRY,
        breakers=CircuitBreakers(),
        **kwargs,
    )


def _two_tier(
    cheap_answers: list[Any],
    check: Any,
    threshold: float = 0.5,
    strong_answers: list[Any] | None = None,
) -> tuple[RoutedChatModel, ScriptedChatModel, ScriptedChatModel]:
    cheap = ScriptedChatModel(model="gpt-4o-mini", answers=cheap_answers)
    strong = ScriptedChatModel(model="gpt-4o", answers=strong_answers or ["strong answer"])
    route = Route(tiers=(Tier(Tier.of(cheap).deployments, check, threshold), Tier.of(strong)))
    return _router(route), cheap, strong


@pytest.mark.parametrize(
    ("cheap_answer", "check"),
    [
        ("I'm sorry, but I can't help with that request.", NotRefusal()),
        ('{"label": "spam"', ValidJSON()),
        ("Maybe", LabelSet(["Yes", "No"])),
    ],
    ids=["refusal", "invalid-json", "out-of-set-label"],
)
def test_failed_check_escalates(cheap_answer: str, check: Any) -> None:
    router, cheap, strong = _two_tier([cheap_answer], check, strong_answers=['{"label": "Yes"}'])
    message = router.invoke("question")
    record = message.response_metadata["costrouter"]
    assert message.content == '{"label": "Yes"}'
    assert message.response_metadata["model_name"] == "gpt-4o"
    assert record["escalated"] is True and record["accepted"] is True
    first, second = record["attempts"]
    assert first["model"] == "gpt-4o-mini" and first["accepted"] is False
    assert first["reason"].startswith("escalated: score")
    assert second["model"] == "gpt-4o" and second["accepted"] is True
    assert record["cost_usd"] == pytest.approx(first["cost_usd"] + second["cost_usd"])
    assert cheap.calls == 1 and strong.calls == 1


def test_good_cheap_answer_does_not_escalate() -> None:
    router, _, strong = _two_tier(["Yes"], LabelSet(["Yes", "No"]))
    message = router.invoke("question")
    assert message.content == "Yes"
    assert message.response_metadata["costrouter"]["escalated"] is False
    assert strong.calls == 0


def test_no_passing_tier_returns_best_answer_marked_not_accepted() -> None:
    cheap = ScriptedChatModel(model="gpt-4o-mini", answers=["Maybe"])
    strong = ScriptedChatModel(model="gpt-4o", answers=["Perhaps"])
    check = LabelSet(["Yes", "No"])
    route = Route(
        tiers=(
            Tier(Tier.of(cheap).deployments, check, 0.5),
            Tier(Tier.of(strong).deployments, check, 0.5),
        )
    )
    message = _router(route).invoke("question")
    record = message.response_metadata["costrouter"]
    assert record["accepted"] is False
    assert not any(a["accepted"] for a in record["attempts"])
    assert any(a["reason"].startswith("best effort") for a in record["attempts"])


def test_a_best_effort_answer_of_the_first_tier_still_escalated() -> None:
    """Tier 1 was paid for, so the call escalated, though tier 0's answer scored higher."""
    scores = {"cheap answer": 0.4, "strong answer": 0.3}
    check = FunctionCheck(lambda messages, answer, previous: scores[answer.text], name="scores")
    cheap = ScriptedChatModel(model="gpt-4o-mini", answers=["cheap answer"])
    strong = ScriptedChatModel(model="gpt-4o", answers=["strong answer"])
    route = Route(
        tiers=(Tier(Tier.of(cheap).deployments, check), Tier(Tier.of(strong).deployments, check))
    )
    record = _router(route).invoke("question").response_metadata["costrouter"]
    assert (record["served_by"], record["accepted"]) == ("gpt-4o-mini", False)
    assert record["escalated"] is True and strong.calls == 1


def test_budget_skips_tiers_and_records_the_decision() -> None:
    cheap = ScriptedChatModel(model="gpt-4o-mini", answers=["Maybe"])
    strong = ScriptedChatModel(model="gpt-4", answers=["Yes"])
    route = Route(
        tiers=(Tier(Tier.of(cheap).deployments, LabelSet(["Yes", "No"]), 0.5), Tier.of(strong)),
        max_cost_usd=0.001,
    )
    message = _router(route).invoke("question", max_tokens=100)
    record = message.response_metadata["costrouter"]
    assert strong.calls == 0  # gpt-4 at $60/M output x 100 tokens breaks $0.001
    assert record["attempts"][-1]["reason"].startswith("skipped: estimated")
    assert record["accepted"] is False  # best effort: the cheap answer, marked as such
    assert record["escalated"] is False  # tier 1 was skipped, never tried


def test_budget_too_small_for_any_tier_is_a_typed_error() -> None:
    route = Route(tiers=(Tier.of(ScriptedChatModel(model="gpt-4")),), max_cost_usd=1e-9)
    with pytest.raises(BudgetExceededError, match="max_cost_usd"):
        _router(route).invoke("question", max_tokens=100)


def test_a_cap_on_a_route_with_an_unpriced_model_is_refused_when_the_router_is_built() -> None:
    unpriced = ScriptedChatModel(model="my-local-llm", answers=["Yes"])
    route = Route(tiers=(Tier.of(ScriptedChatModel(model="gpt-4o-mini")), Tier.of(unpriced)))
    _router(route)  # no cap: an unpriced model is served, its cost recorded as unknown
    capped = Route(tiers=route.tiers, max_cost_usd=0.01)
    with pytest.warns(UnknownPriceWarning), pytest.raises(ConfigError) as refused:
        _router(capped)
    assert "'my-local-llm' has no price" in str(refused.value)
    assert "routes.task" in str(refused.value) and "drop max_cost_usd" in str(refused.value)
    assert unpriced.calls == 0


def test_retryable_fault_is_retried_then_escalated() -> None:
    failing = ScriptedChatModel(model="gpt-4o-mini", answers=[ModelAPIError("HTTP 500")])
    strong = ScriptedChatModel(model="gpt-4o", answers=["ok"])
    message = _router(Route(tiers=(Tier.of(failing), Tier.of(strong)))).invoke("q")
    attempts = message.response_metadata["costrouter"]["attempts"]
    assert failing.calls == 3  # one call + two retries
    assert [a["reason"] for a in attempts[:3]] == ["error: server"] * 3
    assert all(a["error"] == "ModelAPIError" for a in attempts[:3])
    assert attempts[3]["accepted"] is True and message.content == "ok"


def test_failover_within_a_tier_before_escalating() -> None:
    down = ScriptedChatModel(model="m", provider="provider-a", answers=[ModelRateLimitError("429")])
    up = ScriptedChatModel(model="m", provider="provider-b", answers=["from b"])
    strong = ScriptedChatModel(model="gpt-4o", answers=["strong"])
    route = Route(tiers=(Tier.of([down, up]), Tier.of(strong)))
    message = _router(route).invoke("q")
    assert message.content == "from b" and strong.calls == 0
    providers = [a["provider"] for a in message.response_metadata["costrouter"]["attempts"]]
    assert providers == ["provider-a"] * 3 + ["provider-b"]


def test_non_retryable_fault_raises_at_once() -> None:
    failing = ScriptedChatModel(model="gpt-4o-mini", answers=[ModelAuthenticationError("401")])
    strong = ScriptedChatModel(model="gpt-4o", answers=["ok"])
    with pytest.raises(ProviderError, match="not retryable") as caught:
        _router(Route(tiers=(Tier.of(failing), Tier.of(strong)))).invoke("q")
    assert caught.value.retryable is False
    assert failing.calls == 1 and strong.calls == 0


class _KeyedChatModel(ScriptedChatModel):
    """A child holding credentials, as ChatOpenAI does (a SecretStr, a header)."""

    api_key: SecretStr = SecretStr("key-of-the-child-1234")
    default_headers: dict[str, str] = {"x-api-key": "header-secret-5678", "x-trace": "t1"}


def test_a_key_the_provider_echoes_is_masked_in_the_error() -> None:
    echoed = (
        "Incorrect API key provided: key-of-the-child-1234 (header header-secret-5678, "
        "trace t1, also sk-proj-abcdefghijklmnop)"
    )
    failing = _KeyedChatModel(model="gpt-4o-mini", answers=[ModelAuthenticationError(echoed)])
    with pytest.raises(ProviderError, match="not retryable") as caught:
        _router(Route(tiers=(Tier.of(failing),))).invoke("q")
    message = str(caught.value)
    assert "Incorrect API key provided: ***" in message and "trace t1" in message
    for secret in ("key-of-the-child-1234", "header-secret-5678", "sk-proj-abcdefghijklmnop"):
        assert secret not in message


def test_all_tiers_failing_is_a_typed_error_listing_attempts() -> None:
    failing = ScriptedChatModel(model="gpt-4o-mini", answers=[ModelAPIError("HTTP 500")])
    with pytest.raises(AllTiersFailedError, match="gpt-4o-mini") as caught:
        _router(Route(tiers=(Tier.of(failing),))).invoke("q")
    assert len(caught.value.attempts) == 3


def test_circuit_breaker_skips_a_dead_provider() -> None:
    breakers = CircuitBreakers(failure_threshold=2, cooldown=60)
    failing = ScriptedChatModel(model="m", provider="dead", answers=[ModelAPIError("500")])
    strong = ScriptedChatModel(model="gpt-4o", answers=["ok"])
    router = RoutedChatModel(
        routes={"t": [failing, strong]}, default_task="t", retry=FAST_RETRY, breakers=breakers
    )
    router.invoke("q")
    calls_after_first = failing.calls
    second = router.invoke("q")
    assert failing.calls == calls_after_first  # skipped: circuit open
    assert (
        second.response_metadata["costrouter"]["attempts"][0]["reason"] == "skipped: circuit open"
    )


async def test_async_cascade_escalates_the_same_way() -> None:
    router, _, strong = _two_tier(["Maybe"], LabelSet(["Yes", "No"]), strong_answers=["No"])
    message = await router.ainvoke("q")
    assert message.content == "No" and strong.calls == 1


def test_stream_buffers_checked_tiers_and_streams_only_the_accepted_answer() -> None:
    router, _, _ = _two_tier(["Maybe"], LabelSet(["Yes", "No"]), strong_answers=["No"])
    chunks = list(router.stream("q"))
    assert "".join(str(c.content) for c in chunks) == "No"
    assert sum(1 for c in chunks if c.usage_metadata) == 1


def test_tool_calls_pass_through_the_cascade() -> None:
    call = AIMessage(content="", tool_calls=[{"name": "lookup", "args": {"q": "x"}, "id": "c1"}])
    child = ScriptedChatModel(model="gpt-4o-mini", answers=[call])
    router = RoutedChatModel(routes={"t": [child]}, default_task="t")

    def lookup(q: str) -> str:
        """Look something up."""
        return q

    message = router.bind_tools([lookup]).invoke("q")
    assert message.tool_calls[0]["name"] == "lookup" and message.tool_calls[0]["args"] == {"q": "x"}
    streamed = list(router.bind_tools([lookup]).stream("q"))
    merged = streamed[0]
    for chunk in streamed[1:]:
        merged = merged + chunk
    assert merged.tool_calls[0]["args"] == {"q": "x"}


def test_context_overflow_escalates_to_a_longer_context_tier() -> None:
    from langchain_core.exceptions import ContextOverflowError

    from langchain_costrouter import Deployment

    small = ScriptedChatModel(model="small", answers=[ContextOverflowError("too long")])
    smaller = ScriptedChatModel(model="smaller", answers=["never asked"])
    large = ScriptedChatModel(model="gpt-4o", answers=["fits"])
    route = Route(
        tiers=(
            Tier.of(Deployment(model=small, model_id="small", provider="p", context_window=8000)),
            Tier.of(
                Deployment(model=smaller, model_id="smaller", provider="p", context_window=4000)
            ),
            Tier.of(
                Deployment(model=large, model_id="gpt-4o", provider="p", context_window=128000)
            ),
        )
    )
    message = _router(route).invoke("a very long prompt")
    reasons = [a["reason"] for a in message.response_metadata["costrouter"]["attempts"]]
    assert message.content == "fits"
    assert reasons == ["error: context_overflow", "skipped: context window too small", "accepted"]
    assert small.calls == 1 and smaller.calls == 0


class Label(BaseModel):
    label: str


def test_structured_output_escalates_on_an_invalid_object() -> None:
    from langchain_costrouter.checks import PydanticCheck

    cheap = ScriptedChatModel(model="gpt-4o-mini", answers=['{"labl": "spam"}'])
    strong = ScriptedChatModel(model="gpt-4o", answers=['{"label": "spam"}'])
    router = _router(Route(tiers=(Tier.of(cheap, check=PydanticCheck(Label)), Tier.of(strong))))
    structured = router.with_structured_output(Label, method="json_mode", include_raw=True)
    result = structured.invoke("classify")
    assert result["parsed"] == Label(label="spam")
    assert result["raw"].response_metadata["costrouter"]["escalated"] is True
    assert cheap.calls == 1 and strong.calls == 1


async def test_tool_calls_are_checked_and_escalated_async_and_in_batch() -> None:
    from langchain_costrouter.checks import ToolCallCheck

    def lookup(query: str) -> str:
        """Look something up."""
        return query

    bad = AIMessage(content="", tool_calls=[{"name": "lookup", "args": {"q": 1}, "id": "c1"}])
    good = AIMessage(
        content="", tool_calls=[{"name": "lookup", "args": {"query": "x"}, "id": "c2"}]
    )
    cheap = ScriptedChatModel(model="gpt-4o-mini", answers=[bad])
    strong = ScriptedChatModel(model="gpt-4o", answers=[good])
    route = Route(
        tiers=(Tier.of(cheap, check=ToolCallCheck([lookup]), threshold=1.0), Tier.of(strong))
    )
    bound = _router(route).bind_tools([lookup])
    answer = await bound.ainvoke("find x")
    assert answer.tool_calls[0]["args"] == {"query": "x"}
    answers = bound.batch(["a", "b"])
    assert all(a.tool_calls[0]["args"] == {"query": "x"} for a in answers)
    assert cheap.calls == 3 and strong.calls == 3


def _judged_by_a_router(ledger: Any, judge_ledger: Any, **budgeting: Any) -> Any:
    """A router whose draft tier is checked by a JudgeCheck whose model is a router
    (its own draft tier refused by a label check, so it pays two tiers per rating)."""
    from langchain_costrouter import CircuitBreakers, ModelPrice, PriceTable, Route, Tier
    from langchain_costrouter.checks.judge import JudgeCheck

    prices = PriceTable(
        {
            "draft": ModelPrice(input_per_mtok=1, output_per_mtok=1),
            "rater": ModelPrice(input_per_mtok=2, output_per_mtok=4),
            "big": ModelPrice(input_per_mtok=10, output_per_mtok=20),
        }
    )
    cheap_rater = ScriptedChatModel(model="draft", answers=["not a rating"])
    judge = RoutedChatModel(
        routes={
            "rate": Route(
                tiers=(
                    Tier(Tier.of(cheap_rater).deployments, LabelSet(["9"]), 0.5),
                    Tier.of(ScriptedChatModel(model="rater", answers=["9"])),
                )
            )
        },
        default_task="rate",
        prices=prices,
        ledger=judge_ledger,
        breakers=CircuitBreakers(),
        **budgeting,
    )
    draft = ScriptedChatModel(model="draft", answers=["hello"])
    return RoutedChatModel(
        routes={
            "chat": Route(
                tiers=(
                    Tier(Tier.of(draft).deployments, JudgeCheck(judge), 0.5),
                    Tier.of(ScriptedChatModel(model="big", answers=["ok"])),
                )
            )
        },
        prices=prices,
        ledger=ledger,
        breakers=CircuitBreakers(),
        **budgeting,
    )


def _ledger_total(ledger: Any) -> Any:
    from decimal import Decimal

    ledger.flush()
    return sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))


def test_a_judge_that_is_a_router_on_the_same_ledger_is_recorded_once() -> None:
    from decimal import Decimal

    from langchain_costrouter.ledger import InMemoryLedger

    ledger = InMemoryLedger()
    answer = _judged_by_a_router(ledger, ledger).invoke("Hi", task="chat")
    record = answer.response_metadata["costrouter"]
    judged = [a["model"] for a in record["attempts"] if a.get("role") == "judge"]
    assert judged == ["draft", "rater"]  # both of the judge router's tiers were paid
    assert [(row.task, row.role) for row in ledger.rows()] == [
        ("chat", "answer"),
        ("chat", "judge"),
        ("chat", "judge"),
    ]
    assert _ledger_total(ledger) == Decimal(repr(record["cost_usd"]))


async def test_a_judge_router_on_the_same_budget_store_is_counted_once() -> None:
    from decimal import Decimal

    from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
    from langchain_costrouter.budgets.memory_store import MemoryStore
    from langchain_costrouter.ledger import InMemoryLedger

    store, ledger = MemoryStore(), InMemoryLedger()
    budgets = [Budget(name="daily", limit_usd=10, per=None)]
    router = _judged_by_a_router(ledger, ledger, budgets=budgets, budget_store=store)
    answer = await router.ainvoke("Hi", task="chat")
    (status,) = BudgetGate(budgets, store).status(CallContext(task="chat"))
    cost = Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))
    assert status.spent_usd == _ledger_total(ledger) == cost


def test_a_judge_router_on_its_own_ledger_still_records_its_calls() -> None:
    from decimal import Decimal

    from langchain_costrouter.ledger import InMemoryLedger

    ledger, judge_ledger = InMemoryLedger(), InMemoryLedger()
    answer = _judged_by_a_router(ledger, judge_ledger).invoke("Hi", task="chat")
    record = answer.response_metadata["costrouter"]
    assert [row.model for row in judge_ledger.rows()] == ["draft", "rater"]
    assert _ledger_total(judge_ledger) > 0
    assert _ledger_total(ledger) == Decimal(repr(record["cost_usd"]))
    assert record["accepted"]


def test_a_judge_router_draws_on_the_callers_tenant_only() -> None:
    """The judge router's call carries the caller's run metadata, as a compressor's does
    (`_compress.enter_nested`): its per-tenant budget reserves in the caller's account."""
    from decimal import Decimal

    from langchain_costrouter.budgets import Budget, BudgetGate, CallContext
    from langchain_costrouter.budgets.memory_store import MemoryStore
    from langchain_costrouter.ledger import InMemoryLedger

    store, ledger = MemoryStore(), InMemoryLedger()
    budgets = [Budget(name="t", limit_usd=10, per="tenant")]
    router = _judged_by_a_router(ledger, ledger, budgets=budgets, budget_store=store)
    answer = router.invoke("Hi", task="chat", config={"metadata": {"tenant": "acme"}})
    gate = BudgetGate(budgets, store)
    (acme,) = gate.status(CallContext(task="chat", metadata={"tenant": "acme"}))
    (nobody,) = gate.status(CallContext(task="chat"))
    assert acme.spent_usd == Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))
    assert nobody.spent_usd == 0
