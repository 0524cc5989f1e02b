"""What OpenTelemetry costs a routed call: the SDK configured against no telemetry at all.

The local OpenAI-compatible server runs in its own process (as in bench/concurrency.py);
every request is distinct (no cache). Each configuration is timed in interleaved rounds
and the best round is kept; ratios are against the same router with ``telemetry=False``
in the same run.

- "API only, no providers": the API installed, no provider set: `NoTelemetry`.
- "SDK configured": a `TracerProvider` with a `BatchSpanProcessor` (its exporter drops
  the spans: the export itself is the exporter's cost, not ours) and a `MeterProvider`
  with an in-memory reader (metrics aggregate on every call, collect on demand).
- "SDK + content": the same with prompt and answer text on the spans.

Spans and metrics are made by the telemetry worker thread after each call, so the
request path pays a queue put; the worker's CPU still counts in "client CPU" and in
the loaded async and batch runs. Sequential ``invoke`` is the per-call overhead (wall
time, and this process's CPU time, which the machine's load disturbs less); async (64
in flight) and sync batch show it under load. Target (issue 18): SDK configured <= 1.03.

Run: python bench/otel.py [--requests 300] [--in-flight 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table
from concurrency import best_of, prompts, server_process, time_async, time_sync
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.telemetry import Telemetry, TelemetryProviders, flush

BASELINE = "router, telemetry off"


class DroppingExporter(SpanExporter):
    """Receives batches and drops them: what is left is the router's and the SDK's cost."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def sdk_providers() -> TelemetryProviders:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    return TelemetryProviders(tracer_provider, MeterProvider([InMemoryMetricReader()]))


def configurations(base_url: str) -> dict[str, BaseChatModel]:
    def router(**fields: Any) -> RoutedChatModel:
        child = ChatOpenAI(
            model="gpt-4o-mini", base_url=base_url, api_key="bench", max_retries=0, cache=False
        )
        return RoutedChatModel(routes={"chat": [child]}, default_task="chat", **fields)

    models: dict[str, BaseChatModel] = {
        BASELINE: router(telemetry=False),
        "API only, no providers": router(),
        "SDK configured": router(telemetry=sdk_providers()),
        "SDK + content": router(telemetry=sdk_providers(), trace_content=True),
    }
    assert isinstance(models["SDK configured"]._current().telemetry, Telemetry)  # type: ignore[attr-defined]
    return models


def time_sequential(model: BaseChatModel, count: int, in_flight: int) -> float:
    batch = prompts(count)
    start = time.perf_counter()
    for prompt in batch:
        model.invoke(prompt)
    return time.perf_counter() - start


def cpu_sequential(model: BaseChatModel, count: int, in_flight: int) -> float:
    """This process's CPU time for sequential calls: what the router itself costs, steadier
    than wall time on a loaded machine (the server's work is in its own process)."""
    batch = prompts(count)
    start = time.process_time()
    for prompt in batch:
        model.invoke(prompt)
    flush()  # the worker's share of the CPU belongs to these calls
    return time.process_time() - start


def in_process_cpu(calls: int, rounds: int) -> dict[str, float]:
    """CPU microseconds per call of a router over an in-process child (no HTTP, no
    server): what telemetry adds, worker included, without the loopback noise."""
    from langchain_costrouter.testing.models import ScriptedChatModel

    def router(**fields: Any) -> RoutedChatModel:
        child = ScriptedChatModel(answers=["Yes"] * (calls * rounds + 100))
        prices = {"scripted": {"input_per_mtok": 1, "output_per_mtok": 2}}
        return RoutedChatModel(routes={"chat": [child]}, prices=_prices(prices), **fields)

    models = {
        BASELINE: router(telemetry=False),
        "SDK configured": router(telemetry=sdk_providers()),
    }
    best = dict.fromkeys(models, float("inf"))
    for _ in range(rounds):
        for name, model in models.items():
            best[name] = min(best[name], cpu_sequential(model, calls, 1) / calls * 1e6)
    return best


def _prices(table: dict[str, dict[str, float]]) -> Any:
    from langchain_costrouter import ModelPrice, PriceTable

    return PriceTable({model: ModelPrice(**price) for model, price in table.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    timers = {
        "sequential": time_sequential,
        "client CPU": cpu_sequential,
        "async": time_async,
        "sync batch": time_sync,
    }
    with server_process() as base_url:
        models = configurations(base_url)
        for model in models.values():  # warm up: connections, imports, price lookups
            time_sequential(model, 8, 1)
            time_async(model, 8, 8)
        kwargs = {"count": args.requests, "in_flight": args.in_flight, "rounds": args.rounds}
        times = {label: best_of(timer, models, **kwargs) for label, timer in timers.items()}
    rows = []
    for name in models:
        row: list[object] = [name]
        for label in timers:
            seconds, baseline = times[label][name], times[label][BASELINE]
            row += [f"{seconds / args.requests * 1e6:.0f}", f"{seconds / baseline:.3f}"]
        rows.append(row)
    print(
        f"{args.requests} distinct requests per round (async and batch: {args.in_flight} in "
        f"flight), best of {args.rounds} rounds; us per call, ratio to {BASELINE!r}"
    )
    headers = ["configuration"]
    for label in timers:
        headers += [f"{label} us", f"{label} ratio"]
    print_table(headers, rows)
    cpu = in_process_cpu(1000, args.rounds)
    added = cpu["SDK configured"] - cpu[BASELINE]
    print(f"\nin-process child, CPU per call (best of {args.rounds} x 1000 calls)")
    print_table(
        ["configuration", "CPU us", "added us"],
        [[name, f"{us:.0f}", f"{us - cpu[BASELINE]:.0f}"] for name, us in cpu.items()],
    )
    print(f"telemetry's CPU per call: {added:.0f} us")


if __name__ == "__main__":
    main()
