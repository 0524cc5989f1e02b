"""Pytest plugin: OpenTelemetry SDK providers per test, never the global ones.

OpenTelemetry's global providers can be set once per process, so each test gets its own
tracer and meter providers (the SDK's in-memory span exporter and metric reader) and
hands them to the router as ``TelemetryProviders``: nothing leaks into the next test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from langchain_costrouter.telemetry import TelemetryProviders, flush

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Otel:
    """One test's providers, and what they received."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    providers: TelemetryProviders

    def spans(self, prefix: str = "") -> list[ReadableSpan]:
        """Finished spans whose name starts with ``prefix``, in the order they ended."""
        assert flush(), "the telemetry worker did not catch up"
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]

    def points(self, name: str) -> list[Any]:
        """The data points of metric ``name`` (empty when nothing was recorded)."""
        assert flush(), "the telemetry worker did not catch up"
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        return list(metric.data.data_points)
        return []

    def total(self, name: str, **attributes: Any) -> float:
        """Sum of a counter's points whose attributes include ``attributes``."""
        return sum(
            p.value
            for p in self.points(name)
            if all(p.attributes.get(k) == v for k, v in attributes.items())
        )


@pytest.fixture
def otel() -> Iterator[Otel]:
    pytest.importorskip("opentelemetry.sdk", reason="the SDK comes with the dev extra")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(exporter, reader, TelemetryProviders(tracer_provider, meter_provider))
    tracer_provider.shutdown()
    meter_provider.shutdown()
