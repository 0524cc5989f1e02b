"""Choosing a router's telemetry, and the parts that need no provider call to test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_costrouter import ConfigError, RoutedChatModel
from langchain_costrouter.budgets.reservation import BudgetStatus
from langchain_costrouter.config_schema import RouterSpec
from langchain_costrouter.telemetry import (
    NoTelemetry,
    Telemetry,
    TelemetryProviders,
    open_telemetry,
)
from langchain_costrouter.telemetry.content import input_messages, output_messages
from langchain_costrouter.telemetry.names import provider_name
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.otel_fixtures import Otel


def test_without_global_providers_a_router_reports_nothing_and_notes_nothing() -> None:
    # No test sets OpenTelemetry's global providers (they can be set once per process).
    assert isinstance(open_telemetry(None), NoTelemetry)
    router = RoutedChatModel(routes={"chat": [ScriptedChatModel(answers=["hi"])]})
    assert isinstance(router._current().telemetry, NoTelemetry)
    flow, io = router._begin([HumanMessage("q")], None, None, {}, streaming=False)
    assert io.request.trace is None
    flow.close()


def test_telemetry_false_never_reports_even_with_providers(otel: Otel) -> None:
    assert isinstance(open_telemetry(False), NoTelemetry)
    assert isinstance(open_telemetry(otel.providers), Telemetry)


def test_a_telemetry_value_that_is_not_providers_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TelemetryProviders"):
        RoutedChatModel(routes={"chat": [ScriptedChatModel(answers=["hi"])]}, telemetry="yes")


def test_trace_content_is_a_strict_config_file_key() -> None:
    assert RouterSpec(trace_content=True).router_fields() == {"trace_content": True}
    with pytest.raises(ValueError, match="bool"):
        RouterSpec(trace_content="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("langchain", "convention"),
    [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("google_genai", "gcp.gen_ai"),
        ("bedrock", "aws.bedrock"),
        ("mistralai", "mistral_ai"),
        ("my_gateway", "my_gateway"),
    ],
)
def test_providers_take_the_conventions_well_known_names(langchain: str, convention: str) -> None:
    assert provider_name(langchain) == convention


def test_messages_follow_the_conventions_message_shapes() -> None:
    call = {"name": "weather", "args": {"city": "Paris"}, "id": "c1"}
    sent = json.loads(
        input_messages(
            [
                SystemMessage("be brief"),
                HumanMessage("weather?"),
                AIMessage("", tool_calls=[call]),
                ToolMessage("rainy", tool_call_id="c1"),
            ]
        )
    )
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2]["parts"] == [
        {"type": "tool_call", "id": "c1", "name": "weather", "arguments": {"city": "Paris"}}
    ]
    assert sent[3]["parts"] == [{"type": "tool_call_response", "id": "c1", "response": "rainy"}]
    (said,) = json.loads(output_messages(AIMessage("", tool_calls=[call])))
    assert said["finish_reason"] == "tool_call"


def test_budget_remaining_is_a_gauge_per_budget_and_scope(otel: Otel) -> None:
    telemetry = open_telemetry(otel.providers)
    standing = BudgetStatus(
        budget="tenant-daily",
        scope="tenant=acme",
        window="2026-12-04",
        spent_usd=Decimal("12.5"),
        reserved_usd=Decimal("0.5"),
        limit_usd=Decimal("50"),
        reset_at=datetime(2026, 12, 5, tzinfo=UTC),
    )
    telemetry.budget_remaining([standing])
    (point,) = otel.points("costrouter.budget.remaining")
    assert point.value == 37.0
    assert point.attributes == {
        "costrouter.budget": "tenant-daily",
        "costrouter.budget.scope": "tenant=acme",
        "costrouter.budget.window": "2026-12-04",
    }


class _BrokenTracerProvider:
    def get_tracer(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("tracer provider broken")


class _BrokenMeterProvider:
    def get_meter(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("meter provider broken")


def test_a_broken_provider_leaves_the_router_working(caplog: pytest.LogCaptureFixture) -> None:
    """A provider that raises (a vendor distribution's bug) costs its own reports, never
    the router: building it from a config file or RoutedChatModel() must not fail."""
    providers = TelemetryProviders(_BrokenTracerProvider(), _BrokenMeterProvider())  # type: ignore[arg-type]
    router = RoutedChatModel(
        routes={"chat": [ScriptedChatModel(model="gpt-4o-mini", answers=["hi"])]},
        telemetry=providers,
    )
    assert router.invoke("q").text == "hi"
    assert isinstance(router._current().telemetry, NoTelemetry)
    assert "tracer provider broken" in caplog.text and "meter provider broken" in caplog.text


class _BrokenTracer:
    def start_span(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("tracer broken")


class _TracerProvider:
    def get_tracer(self, *args: object, **kwargs: object) -> object:
        return _BrokenTracer()


def test_a_tracer_that_fails_costs_the_spans_not_the_metrics(otel: Otel) -> None:
    providers = TelemetryProviders(_TracerProvider(), otel.providers.meter_provider)  # type: ignore[arg-type]
    router = RoutedChatModel(
        routes={"chat": [ScriptedChatModel(model="gpt-4o-mini", answers=["hi"])]},
        telemetry=providers,
    )
    record = router.invoke("q").response_metadata["costrouter"]
    assert otel.total("costrouter.calls", **{"costrouter.status": "ok"}) == 1
    assert otel.total("costrouter.cost") == record["cost_usd"] > 0
