"""What OpenTelemetry costs a routed call: the SDK configured against no telemetry at all.

The local OpenAI-compatible server runs in its own process (as in bench/concurrency.py);
every request is distinct (no cache). Configurations are timed in interleaved rounds
(each round starts at the next configuration, so no one always runs first) and the
best round of each is kept; ratios are against the same router with
``telemetry=False`` in the same run.

- "API only, no providers": the API installed, no provider set: `NoTelemetry`.
- "SDK, batch spans": a `TracerProvider` with a `BatchSpanProcessor` (its exporter
  drops the spans: the export itself is the exporter's cost, not ours) and a
  `MeterProvider` with an in-memory reader (metrics aggregate on every call, collect
  on demand). "SDK, simple spans": the same with a `SimpleSpanProcessor`.
- "SDK + content": batch spans with prompt and answer text on them.

Spans and metrics are made by the telemetry worker thread after each call, so the
caller waits for none of it. Sequential ``invoke`` gives three figures per call: the
caller's wall time (latency; the clock stops at the last answer, and the worker's
remaining reports are flushed outside the timed window), the caller thread's CPU time
(the request path's own work, which latency is made of besides waiting) and this
process's CPU time, the worker's included (it is flushed inside the window): what
telemetry costs in throughput. CPU times are steadier than wall time on a loaded
machine. Async (64 in flight) and
sync batch show wall time under load. A last table times an in-process child (no
HTTP): telemetry's CPU per call without the loopback noise (its wall time is left
out: with no I/O to wait on, the caller and the worker take turns on the GIL). Target (issue 18):
SDK configured <= 1.03.

Run: python bench/otel.py [--requests 200] [--in-flight 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table
from concurrency import prompts, server_process, time_async, time_sync
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from langchain_costrouter import ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.telemetry import Telemetry, TelemetryProviders, flush

BASELINE = "router, telemetry off"
Timer = Callable[[BaseChatModel, int], dict[str, float]]


class DroppingExporter(SpanExporter):
    """Receives spans and drops them: what is left is the router's and the SDK's cost."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def sdk_providers(processor: type[SimpleSpanProcessor | BatchSpanProcessor]) -> Any:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor(DroppingExporter()))
    return TelemetryProviders(tracer_provider, MeterProvider([InMemoryMetricReader()]))


def configurations(child: Callable[[], BaseChatModel], **common: Any) -> dict[str, Any]:
    def router(**fields: Any) -> RoutedChatModel:
        return RoutedChatModel(routes={"chat": [child()]}, default_task="chat", **common, **fields)

    models = {
        BASELINE: router(telemetry=False),
        "API only, no providers": router(),
        "SDK, batch spans": router(telemetry=sdk_providers(BatchSpanProcessor)),
        "SDK, simple spans": router(telemetry=sdk_providers(SimpleSpanProcessor)),
        "SDK + content": router(telemetry=sdk_providers(BatchSpanProcessor), trace_content=True),
    }
    assert isinstance(models["SDK, batch spans"]._current().telemetry, Telemetry)
    return models


def sequential(model: BaseChatModel, count: int) -> dict[str, float]:
    """Seconds of wall time and of the caller thread's CPU time (the request path), and
    of the process's CPU time (the telemetry worker's included)."""
    batch = prompts(count)
    flush()
    wall, caller, cpu = time.perf_counter(), time.thread_time(), time.process_time()
    for prompt in batch:
        model.invoke(prompt)
    wall, caller = time.perf_counter() - wall, time.thread_time() - caller
    flush()  # the worker's share of the CPU belongs to these calls
    return {"latency": wall, "caller CPU": caller, "CPU": time.process_time() - cpu}


def interleaved(models: dict[str, Any], timer: Timer, count: int, rounds: int) -> Any:
    """Best of ``rounds`` per configuration and figure, the order rotating each round."""
    names = list(models)
    best: dict[str, dict[str, float]] = {name: {} for name in names}
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            for figure, seconds in timer(models[name], count).items():
                best[name][figure] = min(best[name].get(figure, float("inf")), seconds)
    return best


def loaded(in_flight: int) -> Timer:
    def timer(model: BaseChatModel, count: int) -> dict[str, float]:
        return {
            "async": time_async(model, count, in_flight),
            "sync batch": time_sync(model, count, in_flight),
        }

    return timer


def table(
    best: dict[str, dict[str, float]], count: int, figures: Sequence[str] = ()
) -> tuple[list[str], list[list[str]]]:
    figures = figures or list(best[BASELINE])
    headers = ["configuration"]
    for figure in figures:
        headers += [f"{figure} us/call", f"{figure} ratio"]
    rows = []
    for name, seconds in best.items():
        row = [name]
        for figure in figures:
            ratio = seconds[figure] / best[BASELINE][figure]
            row += [f"{seconds[figure] / count * 1e6:.0f}", f"{ratio:.3f}"]
        rows.append(row)
    return headers, rows


def in_process(calls: int, rounds: int) -> dict[str, dict[str, float]]:
    """A router over an in-process child (no HTTP, no server), sequential calls."""
    from langchain_costrouter.testing.models import ScriptedChatModel

    prices = PriceTable({"scripted": ModelPrice(input_per_mtok=1, output_per_mtok=2)})
    answers = ["Yes"] * (calls * (rounds + 1) + 100)
    models = configurations(lambda: ScriptedChatModel(answers=answers), prices=prices)
    interleaved(models, sequential, 100, 1)  # warm up
    return interleaved(models, sequential, calls, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    count, rounds = args.requests, args.rounds
    with server_process() as base_url:

        def child() -> BaseChatModel:
            return ChatOpenAI(
                model="gpt-4o-mini", base_url=base_url, api_key="bench", max_retries=0, cache=False
            )

        models = configurations(child)
        interleaved(models, sequential, 20, 1)  # warm up: connections, imports, prices
        interleaved(models, loaded(8), 16, 1)
        calls = interleaved(models, sequential, count, rounds)
        load = interleaved(models, loaded(args.in_flight), count, rounds)
    print(f"loopback HTTP, {count} distinct requests per round, best of {rounds} rounds")
    print_table(*table(calls, count))
    print(f"\nunder load ({args.in_flight} in flight), wall time")
    print_table(*table(load, count))
    local = in_process(1000, rounds)
    print(f"\nin-process child, 1000 sequential calls per round, best of {rounds} rounds")
    print_table(*table(local, 1000, ["CPU"]))  # its wall time is the GIL's share, not latency
    for name in ("SDK, batch spans", "SDK, simple spans"):
        added = (calls[name]["CPU"] - calls[BASELINE]["CPU"]) / count * 1e6
        local_added = (local[name]["CPU"] - local[BASELINE]["CPU"]) / 1000 * 1e6
        print(
            f"{name}: CPU added per call {added:.0f} us over HTTP, {local_added:.0f} us in-process"
        )


if __name__ == "__main__":
    main()
