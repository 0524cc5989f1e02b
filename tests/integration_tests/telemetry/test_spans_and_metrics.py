"""Spans and metrics of routed calls over real HTTP, read back from the SDK in memory.

Every figure a span or a metric carries is compared with the call's own record
(``response_metadata["costrouter"]``), which is what the ledger stores.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.tracers.context import collect_runs
from langchain_openai import ChatOpenAI

from langchain_costrouter import (
    AllTiersFailedError,
    Budget,
    CircuitBreakers,
    Deployment,
    ItemBatcher,
    PromptCompressor,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.budgets import BudgetGate
from langchain_costrouter.budgets.memory_store import MemoryStore
from langchain_costrouter.budgets.store import BudgetStore
from langchain_costrouter.checks import FunctionCheck, LabelSet
from langchain_costrouter.errors import BackendUnavailableWarning, BudgetStoreError, ProviderError
from langchain_costrouter.telemetry import SEMCONV_VERSION
from langchain_costrouter.telemetry.names import OPERATION_DURATION_BUCKETS, TOKEN_USAGE_BUCKETS
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from tests.otel_fixtures import Otel
from tests.server_fixtures import dead_url

NO_WAIT = RetryPolicy(max_retries=1, backoff_base=0.0, backoff_cap=0.0)
CHAT_SPAN = "chat "
ROUTE_SPAN = "costrouter.route chat"


def _child(server: LocalOpenAIServer, model: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=model, base_url=server.base_url, api_key="test", max_retries=0, stream_usage=True
    )


def _router(otel: Otel, server: LocalOpenAIServer, **fields: Any) -> RoutedChatModel:
    fields.setdefault("routes", {"chat": [_child(server, "gpt-4o-mini")]})
    fields.setdefault("retry", NO_WAIT)
    fields.setdefault("breakers", CircuitBreakers())
    return RoutedChatModel(telemetry=otel.providers, **fields)


def _escalating(otel: Otel, server: LocalOpenAIServer, **fields: Any) -> RoutedChatModel:
    """Tier 0's answers always score 0.25 against a threshold of 0.5: tier 1 serves."""
    low = FunctionCheck(lambda messages, answer, previous: 0.25, name="low")
    route = Route(
        tiers=(
            Tier(deployments=(Deployment.of(_child(server, "gpt-4o-mini")),), check=low),
            Tier(deployments=(Deployment.of(_child(server, "gpt-4o")),)),
        )
    )
    return _router(otel, server, routes={"chat": route}, **fields)


def test_an_escalated_call_has_one_span_per_attempt_under_the_call_span(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _escalating(otel, openai_server)
    record = router.invoke("Is this spam?", max_tokens=50).response_metadata["costrouter"]
    (call,) = otel.spans(ROUTE_SPAN)
    cheap, strong = otel.spans(CHAT_SPAN)
    assert (cheap.name, strong.name) == ("chat gpt-4o-mini", "chat gpt-4o")
    for span, attempt in zip((cheap, strong), record["attempts"], strict=True):
        assert span.parent is not None and span.parent.span_id == call.context.span_id
        assert span.kind.name == "CLIENT"
        assert span.attributes["gen_ai.operation.name"] == "chat"
        assert span.attributes["gen_ai.provider.name"] == "openai"
        assert span.attributes["gen_ai.request.model"] == attempt["model"]
        assert span.attributes["gen_ai.response.model"] == attempt["model"]
        assert span.attributes["gen_ai.request.max_tokens"] == 50
        assert span.attributes["gen_ai.usage.input_tokens"] == attempt["usage"]["input_tokens"]
        assert span.attributes["gen_ai.usage.output_tokens"] == attempt["usage"]["output_tokens"]
        assert span.attributes["costrouter.cost_usd"] == attempt["cost_usd"]
        assert span.attributes["costrouter.tier"] == attempt["tier"]
        assert span.attributes["costrouter.usage_estimated"] is False
        assert span.attributes["server.address"] == "127.0.0.1"
        assert span.start_time <= span.end_time
    assert cheap.attributes["costrouter.check.score"] == 0.25
    assert cheap.attributes["costrouter.accepted"] is False
    assert cheap.attributes["costrouter.reason"].startswith("escalated: score 0.250")
    assert strong.attributes["costrouter.accepted"] is True
    assert "costrouter.reason" not in strong.attributes  # "accepted" says no more
    assert cheap.end_time <= strong.start_time  # tier 1 was called after tier 0 answered
    assert call.attributes["costrouter.escalated"] is True
    assert call.attributes["costrouter.served_model"] == "gpt-4o"
    assert call.attributes["costrouter.cost_usd"] == record["cost_usd"]
    assert call.attributes["costrouter.baseline_cost_usd"] == record["baseline_cost_usd"]
    assert call.attributes["costrouter.savings_usd.cascade"] == record["savings_usd"]["cascade"]
    assert record["savings_usd"]["compression"] == 0  # no compressor: nothing saved, no key
    assert "costrouter.savings_usd.compression" not in call.attributes
    assert "costrouter.stream" not in call.attributes
    assert call.attributes["costrouter.run_id"] == record["run_id"]
    assert call.attributes["costrouter.status"] == "ok"
    assert not any(key.startswith("gen_ai.") for key in call.attributes)  # LangChain's run has them
    assert call.instrumentation_scope.schema_url.endswith(SEMCONV_VERSION)


def test_an_escalated_call_adds_its_record_to_the_metrics(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _escalating(otel, openai_server, cache="memory://")
    record = router.invoke("Is this spam?").response_metadata["costrouter"]
    assert otel.total("costrouter.escalations", **{"costrouter.tier": 1}) == 1
    assert otel.total("costrouter.cost") == pytest.approx(record["cost_usd"], rel=1e-12)
    assert (
        otel.total("costrouter.cost", **{"costrouter.model": "gpt-4o"})
        == (record["attempts"][1]["cost_usd"])
    )
    assert otel.total("costrouter.baseline_cost") == record["baseline_cost_usd"]
    for lever, saved in record["savings_usd"].items():
        assert otel.total("costrouter.savings", **{"costrouter.lever": lever}) == saved
    durations = otel.points("gen_ai.client.operation.duration")
    assert sorted(p.attributes["gen_ai.request.model"] for p in durations) == [
        "gpt-4o",
        "gpt-4o-mini",
    ]
    assert all(p.count == 1 and 0 < p.sum < 5 for p in durations)
    assert {key for p in durations for key in p.attributes} == {  # the conventions' set
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "costrouter.model",  # and the deployment's name, as the ledger and costs have it
    }
    assert tuple(durations[0].explicit_bounds) == OPERATION_DURATION_BUCKETS
    assert OPERATION_DURATION_BUCKETS[:3] == (0.01, 0.02, 0.04)  # the conventions' own values
    tokens = otel.points("gen_ai.client.token.usage")
    inputs = sum(p.sum for p in tokens if p.attributes["gen_ai.token.type"] == "input")
    assert inputs == sum(a["usage"]["input_tokens"] for a in record["attempts"])
    assert tuple(tokens[0].explicit_bounds) == TOKEN_USAGE_BUCKETS
    assert TOKEN_USAGE_BUCKETS[:4] == (1, 4, 16, 64)
    assert otel.total("costrouter.calls", **{"costrouter.status": "ok"}) == 1
    hit = router.invoke("Is this spam?").response_metadata["costrouter"]
    assert hit["cache_hit"] and not hit["escalated"]  # tier 1's answer replayed: no escalation
    assert otel.total("costrouter.escalations") == 1
    assert otel.spans(ROUTE_SPAN)[1].attributes["costrouter.escalated"] is False


def test_a_best_effort_answer_is_counted_under_the_tier_that_served_it(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    """No tier passes; tier 0's answer scores higher than tier 1's and is returned."""
    by_model = {"gpt-4o-mini": 0.4, "gpt-4o": 0.3}
    check = FunctionCheck(
        lambda messages, answer, previous: by_model[answer.response_metadata["model_name"]],
        name="by model",
    )
    route = Route(
        tiers=(
            Tier(deployments=(Deployment.of(_child(openai_server, "gpt-4o-mini")),), check=check),
            Tier(deployments=(Deployment.of(_child(openai_server, "gpt-4o")),), check=check),
        )
    )
    router = _router(otel, openai_server, routes={"chat": route})
    record = router.invoke("Is this spam?").response_metadata["costrouter"]
    assert (record["served_by"], record["accepted"], record["escalated"]) == (
        "gpt-4o-mini",
        False,
        True,
    )
    assert otel.total("costrouter.escalations", **{"costrouter.tier": 0}) == 1
    assert otel.total("costrouter.escalations") == 1


def test_a_cache_hit_has_a_hit_span_and_counts_as_a_hit(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _router(otel, openai_server, cache="memory://")
    first = router.invoke("What is 2 + 2?").response_metadata["costrouter"]
    hit = router.invoke("What is 2 + 2?").response_metadata["costrouter"]
    assert hit["cache_hit"] and openai_server.request_count() == 1
    (hit_span,) = otel.spans("costrouter.cache_hit chat")
    _, hit_call = otel.spans(ROUTE_SPAN)
    assert hit_span.parent is not None and hit_span.parent.span_id == hit_call.context.span_id
    assert hit_span.attributes["costrouter.avoided_cost_usd"] == first["cost_usd"]
    assert hit_span.attributes["costrouter.savings_usd.cache"] == hit["savings_usd"]["cache"]
    assert hit_call.attributes["costrouter.cache_hit"] is True
    assert hit_call.attributes["costrouter.cost_usd"] == 0.0
    assert len(otel.spans(CHAT_SPAN)) == 1  # the hit called no provider
    assert otel.total("costrouter.cache.hits") == 1
    assert otel.total("costrouter.cache.misses") == 1
    assert otel.total("costrouter.savings", **{"costrouter.lever": "cache"}) == first["cost_usd"]
    assert sum(p.count for p in otel.points("gen_ai.client.token.usage")) == 2  # in + out, once


def test_a_failed_call_reports_each_provider_error(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("500"), Fault("500")])
    with pytest.raises(AllTiersFailedError) as failed:
        _router(otel, openai_server).invoke("hello")
    error = failed.value.attempts[0]["error"]  # the record's name for the provider's error
    assert error and [a["status_code"] for a in failed.value.attempts] == [500, 500]
    (call,) = otel.spans(ROUTE_SPAN)
    attempts = otel.spans(CHAT_SPAN)
    assert len(attempts) == 2
    for span in attempts:
        assert span.status.status_code.name == "ERROR"
        assert span.attributes["error.type"] == error
        assert span.attributes["http.response.status_code"] == 500
        assert "gen_ai.usage.input_tokens" not in span.attributes
    assert call.status.status_code.name == "ERROR"
    assert call.attributes["costrouter.status"] == "failed"
    assert call.attributes["error.type"] == error
    durations = otel.points("gen_ai.client.operation.duration")
    assert [p.attributes["error.type"] for p in durations] == [error]
    assert durations[0].count == 2
    assert otel.points("gen_ai.client.token.usage") == []  # no usage reported, none measured
    assert otel.total("costrouter.calls", **{"costrouter.status": "failed"}) == 1


def test_a_key_a_provider_echoes_never_reaches_a_span(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    key = "local-key-0123456789"  # no known key shape: masked because the child holds it
    echo = f"bad gateway for {key}"
    openai_server.script([Fault("500", message=echo), Fault("500", message=echo)])
    child = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key=key, max_retries=0
    )
    router = _router(otel, openai_server, routes={"chat": [child]}, trace_content=True)
    with pytest.raises(AllTiersFailedError):
        router.invoke("hello")
    descriptions = [span.status.description or "" for span in otel.spans(CHAT_SPAN)]
    assert len(descriptions) == 2
    assert all("bad gateway for ***" in text and key not in text for text in descriptions)


def test_check_reasons_and_error_messages_stay_out_of_spans_unless_content_is_traced(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    secret = "ZEBRA-4242"
    checked = Tier.of(_child(openai_server, "gpt-4o-mini"), check=LabelSet(["spam", "ham"]))
    route = Route(tiers=(checked, Tier.of(_child(openai_server, "gpt-4o"))))
    router = _router(otel, openai_server, routes={"chat": route})
    router.invoke(f"{secret}: spam or ham?")  # tier 0's answer quotes the prompt, fails
    openai_server.script([Fault("400", message=f"Invalid prompt: {secret!r}")])
    with pytest.raises(ProviderError):
        router.invoke("again")
    spans = otel.spans(CHAT_SPAN)
    assert len(spans) == 3
    shown = [str(dict(span.attributes)) + str(span.status.description) for span in spans]
    assert all(secret not in text for text in shown), shown
    assert spans[0].attributes["costrouter.reason"].startswith("escalated: score 0.000")
    assert spans[2].status.description.endswith("Error (HTTP 400)")  # the class, no message
    otel.exporter.clear()
    traced = _router(otel, openai_server, routes={"chat": route}, trace_content=True)
    traced.invoke(f"{secret}: spam or ham?")
    assert secret in otel.spans(CHAT_SPAN)[0].attributes["costrouter.check.reason"]


def _cut_attempt_is_reported(otel: Otel, record: dict[str, Any]) -> None:
    """The cut attempt has its span and metric points, with the figures it was billed."""
    (attempt,) = otel.spans(CHAT_SPAN)
    assert attempt.attributes["costrouter.usage_estimated"] is True
    assert attempt.attributes["costrouter.cost_usd"] == record["cost_usd"] > 0
    (call,) = otel.spans(ROUTE_SPAN)
    assert call.attributes["costrouter.status"] == "cancelled"
    assert call.attributes["costrouter.cost_usd"] == record["cost_usd"]
    assert sum(p.count for p in otel.points("gen_ai.client.operation.duration")) == 1


def test_a_stream_the_caller_stops_reading_still_reports_its_attempt(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _router(otel, openai_server, ledger="memory://")
    for _ in router.stream("Tell me a long story about the sea and its ships"):
        break  # the consumer stops after the first chunk
    (row,) = router.ledger_store.rows()
    _cut_attempt_is_reported(otel, {"cost_usd": float(row.cost_usd)})


async def test_an_async_stream_the_caller_stops_reading_still_reports_its_attempt(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _router(otel, openai_server, ledger="memory://")
    stream = router.astream("Tell me a long story about the sea and its ships")
    async with aclosing(stream):
        async for _ in stream:
            break  # the consumer stops after the first chunk
    for _ in range(3):  # langchain-core leaves the router's stream to the loop's finaliser
        await asyncio.sleep(0)
    (row,) = router.ledger_store.rows()
    _cut_attempt_is_reported(otel, {"cost_usd": float(row.cost_usd)})


async def test_a_cancelled_call_still_reports_its_attempt(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("late", latency=5.0)])
    router = _router(otel, openai_server, ledger="memory://")
    task = asyncio.create_task(router.ainvoke("hello"))
    await asyncio.sleep(0.3)  # the request is at the server
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (row,) = router.ledger_store.rows()
    _cut_attempt_is_reported(otel, {"cost_usd": float(row.cost_usd)})


def test_a_streamed_call_marks_its_attempt_as_streamed(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    chunks = list(_router(otel, openai_server).stream("Tell me a story"))
    record = next(c for c in chunks if "costrouter" in c.response_metadata).response_metadata[
        "costrouter"
    ]
    (attempt,) = otel.spans(CHAT_SPAN)
    (call,) = otel.spans(ROUTE_SPAN)
    assert attempt.attributes["gen_ai.request.stream"] is True
    usage = record["attempts"][0]["usage"]
    assert attempt.attributes["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert call.attributes["costrouter.stream"] is True
    assert call.attributes["costrouter.cost_usd"] == record["cost_usd"]


async def test_an_async_stream_reports_like_a_blocking_one(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _escalating(otel, openai_server)
    async for _ in router.astream("Is this spam?"):
        pass
    assert [s.name for s in otel.spans()] == ["chat gpt-4o-mini", "chat gpt-4o", ROUTE_SPAN]
    cheap = otel.spans(CHAT_SPAN)[0]
    assert "gen_ai.request.stream" not in cheap.attributes  # a checked tier is buffered


def test_a_batch_call_has_a_batch_span_with_what_batching_saved(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply('{"i0": "Yes", "i1": "No", "i2": "Yes"}')])
    router = _router(otel, openai_server)
    results = ItemBatcher(router, "Is it spam?", ["Yes", "No"], task="chat").invoke(
        ["buy now", "hello mum", "free money"]
    )
    assert [r.value for r in results] == ["Yes", "No", "Yes"]
    (batch,) = otel.spans("costrouter.batch chat")
    (call,) = otel.spans(ROUTE_SPAN)
    assert batch.parent is not None and batch.parent.span_id == call.context.span_id
    assert batch.attributes["costrouter.batch.size"] == 3
    assert batch.attributes["costrouter.batch.item_prompt_tokens"] > 0
    saved = call.attributes["costrouter.savings_usd.batching"]
    assert saved > 0 and batch.attributes["costrouter.savings_usd.batching"] == saved
    assert otel.total("costrouter.savings", **{"costrouter.lever": "batching"}) == saved


def test_compression_has_its_span_before_the_provider_call(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    compressor = PromptCompressor(strategies=("deterministic",), min_tokens=50)
    router = _router(otel, openai_server, compressors={"*": compressor})
    prose = "Please note that " * 300 + "Is it spam? Answer Yes or No."
    record = router.invoke(prose).response_metadata["costrouter"]
    (compress,) = otel.spans("costrouter.compress chat")
    (attempt,) = otel.spans(CHAT_SPAN)
    before = compress.attributes["costrouter.compression.tokens_before"]
    after = compress.attributes["costrouter.compression.tokens_after"]
    assert before > after
    assert (
        compress.attributes["costrouter.compression.tokens_saved"]
        == (record["compression_tokens_saved"])
    )
    assert (
        compress.attributes["costrouter.savings_usd.compression"]
        == (record["savings_usd"]["compression"])
    )
    assert compress.end_time <= attempt.start_time


def test_prompt_and_answer_text_stay_out_unless_asked_for(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    _router(otel, openai_server).invoke("my secret question")
    (quiet,) = otel.spans(CHAT_SPAN)
    assert not any("messages" in key for key in quiet.attributes)
    otel.exporter.clear()
    answer = _router(otel, openai_server, trace_content=True).invoke("my secret question")
    (told,) = otel.spans(CHAT_SPAN)
    sent = json.loads(told.attributes["gen_ai.input.messages"])
    assert sent == [{"role": "user", "parts": [{"type": "text", "content": "my secret question"}]}]
    (said,) = json.loads(told.attributes["gen_ai.output.messages"])
    assert said["role"] == "assistant" and said["finish_reason"] == "stop"
    assert said["parts"] == [{"type": "text", "content": answer.text}]


def test_nothing_is_reported_twice_when_langchain_tracing_is_on(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router = _escalating(otel, openai_server)
    with collect_runs() as runs:
        router.invoke("Is this spam?")
    assert [run.run_type for run in runs.traced_runs] == ["llm"]  # one run: children inline
    assert [s.name for s in otel.spans()] == ["chat gpt-4o-mini", "chat gpt-4o", ROUTE_SPAN]
    assert sum(p.count for p in otel.points("gen_ai.client.operation.duration")) == 2


def test_breaker_transitions_are_counted_per_deployment(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    dead_child = ChatOpenAI(model="gpt-4o-mini", base_url=dead_url(), api_key="t", max_retries=0)
    dead = Deployment.of(dead_child)
    healthy = Deployment.of(_child(openai_server, "gpt-4o-mini"))
    breakers = CircuitBreakers(failure_threshold=1, cooldown=0.0)
    router = _router(
        otel,
        openai_server,
        routes={"chat": Route(tiers=(Tier(deployments=(dead, healthy)),))},
        breakers=breakers,
        retry=RetryPolicy(max_retries=0),
    )
    router.invoke("hello")  # the dead one fails: its breaker opens
    router.invoke("hello")  # cooldown over: one trial (half-open), which fails: open again
    key = dead.breaker_key
    assert otel.total("costrouter.breaker.transitions", **{"costrouter.breaker": key}) == 3
    states = {
        p.attributes["costrouter.breaker.state"]: p.value
        for p in otel.points("costrouter.breaker.transitions")
    }
    assert states == {"open": 2, "half_open": 1}


@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_budget_gauge_is_the_limit_less_what_was_spent(
    otel: Otel, openai_server: LocalOpenAIServer, asynchronous: bool
) -> None:
    """``costrouter.budget.remaining`` (README, OpenTelemetry) after each settlement: per
    budget, scope and window, the limit less the window's spend, which is the sum of the
    calls' recorded costs."""
    budgets = [
        Budget(name="everyone", limit_usd=1, per=None),
        Budget(name="tenants", limit_usd=Decimal("0.5"), per="tenant", period="month"),
    ]
    router = _router(otel, openai_server, budgets=budgets)
    config: Any = {"metadata": {"tenant": "acme"}}
    costs = Decimal(0)
    for _ in range(2):
        answer = (
            asyncio.run(router.ainvoke("Is this spam?", config=config))
            if asynchronous
            else router.invoke("Is this spam?", config=config)
        )
        costs += Decimal(repr(answer.response_metadata["costrouter"]["cost_usd"]))
    assert costs > 0
    gauge = {
        (p.attributes["costrouter.budget"], p.attributes["costrouter.budget.scope"]): p
        for p in otel.points("costrouter.budget.remaining")
    }
    assert set(gauge) == {("everyone", "all"), ("tenants", "tenant=acme")}
    assert gauge["everyone", "all"].value == pytest.approx(float(1 - costs), abs=1e-12)
    assert gauge["tenants", "tenant=acme"].value == pytest.approx(float(Decimal("0.5") - costs))
    windows = {key: p.attributes["costrouter.budget.window"] for key, p in gauge.items()}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", windows["everyone", "all"])  # a day
    assert re.fullmatch(r"\d{4}-\d{2}", windows["tenants", "tenant=acme"])  # a month


def test_a_credential_in_a_base_url_stays_out_of_the_breaker_metric(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    """The breaker key holds the child's base URL, which may carry a proxy's password or
    an ``api-key`` option: the metric names the deployment with them masked."""
    password, token = "proxy-pass-0123456789", "az-key-9876543210"
    url = dead_url().replace("http://", f"http://team:{password}@") + f"?api-key={token}"
    dead_child = ChatOpenAI(model="gpt-4o-mini", base_url=url, api_key="t", max_retries=0)
    dead = Deployment.of(dead_child)
    healthy = Deployment.of(_child(openai_server, "gpt-4o-mini"))
    router = _router(
        otel,
        openai_server,
        routes={"chat": Route(tiers=(Tier(deployments=(dead, healthy)),))},
        breakers=CircuitBreakers(failure_threshold=1, cooldown=60.0),
        retry=RetryPolicy(max_retries=0),
    )
    router.invoke("hello")  # the dead one fails: its breaker opens
    (point,) = otel.points("costrouter.breaker.transitions")
    shown = point.attributes["costrouter.breaker"]
    assert password not in shown and token not in shown, shown
    assert shown.startswith("openai|http://team:***@127.0.0.1:") and shown.endswith("|gpt-4o-mini")
    assert "api-key=***" in shown


class _SettlementsFail(BudgetStore):
    """An in-process store whose settlements always fail, as a store that is down does."""

    url = "memory://"

    def __init__(self) -> None:
        self.inner = MemoryStore()

    def reserve(self, *args: Any) -> Any:
        return self.inner.reserve(*args)

    def settle(self, *args: Any) -> list[int]:
        raise BudgetStoreError(self.url, ConnectionRefusedError("the store is down"))

    def read(self, claims: Any) -> list[tuple[int, int]]:
        return self.inner.read(claims)

    def acquire_rate(self, *args: Any) -> Any:
        return self.inner.acquire_rate(*args)


def test_a_cost_no_budget_counted_is_in_the_unsettled_counter(
    otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    """``costrouter.budget.unsettled``: a call whose settlement the store failed until its
    lease ended adds its recorded cost, per budget and scope it never reached."""
    router = _router(
        otel,
        openai_server,
        budgets=[Budget(name="everyone", limit_usd=1, per=None)],
        budget_store=_SettlementsFail(),
        budget_lease_seconds=0.3,
    )
    with pytest.warns(BackendUnavailableWarning, match="was not settled"):
        answer = router.invoke("Is this spam?")
    cost = answer.response_metadata["costrouter"]["cost_usd"]
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    deadline = time.monotonic() + 5.0
    while gate.settlement_stats().pending and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cost > 0 and gate.settlement_stats().lost == 1
    (point,) = otel.points("costrouter.budget.unsettled")
    assert dict(point.attributes) == {
        "costrouter.budget": "everyone",
        "costrouter.budget.scope": "all",
    }
    assert point.value == pytest.approx(cost, abs=1e-15)
