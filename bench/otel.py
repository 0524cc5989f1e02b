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
import statistics
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
from otel_floor import floor, ours

from langchain_costrouter import ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.telemetry import Telemetry, TelemetryProviders, flush

BASELINE = "router, telemetry off"
Timer = Callable[[BaseChatModel, int], dict[str, float]]
Samples = dict[str, dict[str, list[float]]]


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


def interleaved(models: dict[str, Any], timer: Timer, count: int, rounds: int) -> Samples:
    """Every round's seconds per configuration and figure, the order rotating each round."""
    names = list(models)
    samples: Samples = {name: {} for name in names}
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            for figure, seconds in timer(models[name], count).items():
                samples[name].setdefault(figure, []).append(seconds)
    return samples


def loaded(in_flight: int) -> Timer:
    def timer(model: BaseChatModel, count: int) -> dict[str, float]:
        return {  # wall seconds: each timer also gives the process's CPU seconds
            "async": time_async(model, count, in_flight)[0],
            "sync batch": time_sync(model, count, in_flight)[0],
        }

    return timer


def table(
    samples: Samples, count: int, figures: Sequence[str] = ()
) -> tuple[list[str], list[list[str]]]:
    """Per figure: the best round's us/call, its ratio to the baseline's best round, and
    the ratio of the medians."""
    figures = figures or list(samples[BASELINE])
    headers = ["configuration"]
    for figure in figures:
        headers += [f"{figure} us/call", f"{figure} best", "median"]
    base = samples[BASELINE]
    rows = []
    for name, seconds in samples.items():
        row = [name]
        for figure in figures:
            best, median = min(seconds[figure]), statistics.median(seconds[figure])
            row += [
                f"{best / count * 1e6:.0f}",
                f"{best / min(base[figure]):.3f}",
                f"{median / statistics.median(base[figure]):.3f}",
            ]
        rows.append(row)
    return headers, rows


def floor_table(models: dict[str, Any], calls: Samples, count: int, rounds: int) -> Any:
    """CPU per call of the SDK's floor and of our reporting (bench/otel_floor.py), as
    shares of the baseline's loopback call (process CPU, best and median rounds)."""
    sdk = models["SDK, batch spans"]
    loops = {"SDK floor (issue's spans + histograms)": floor(sdk), "our reporting": ours(sdk)}
    per_loop: dict[str, list[float]] = {name: [] for name in loops}
    iterations = 1000
    for _ in range(rounds):
        for name, loop in loops.items():
            flush()
            start = time.process_time()
            for _ in range(iterations):
                loop()
            per_loop[name].append((time.process_time() - start) / iterations)
    base = [seconds / count for seconds in calls[BASELINE]["CPU"]]
    rows = [
        [
            name,
            f"{min(seconds) * 1e6:.0f}",
            f"{statistics.median(seconds) * 1e6:.0f}",
            f"{min(seconds) / min(base):.3f}",
            f"{statistics.median(seconds) / statistics.median(base):.3f}",
        ]
        for name, seconds in per_loop.items()
    ]
    headers = ["per call", "best us", "median us", "share best", "share median"]
    return headers, rows


def in_process(calls: int, rounds: int) -> Samples:
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
        floors = floor_table(models, calls, count, rounds)
    print(f"loopback HTTP, {count} distinct requests per round, {rounds} rounds")
    print_table(*table(calls, count))
    print(f"\nunder load ({args.in_flight} in flight), wall time")
    print_table(*table(load, count))
    print(f"\nSDK floor against our reporting, {rounds} rounds of 1000, process CPU per call;")
    print("share: of a loopback call's process CPU with telemetry off (the table above)")
    print_table(*floors)
    local = in_process(1000, rounds)
    print(f"\nin-process child, 1000 sequential calls per round, {rounds} rounds")
    print_table(*table(local, 1000, ["CPU"]))  # its wall time is the GIL's share, not latency
    for name in ("SDK, batch spans", "SDK, simple spans"):
        added = (min(calls[name]["CPU"]) - min(calls[BASELINE]["CPU"])) / count * 1e6
        local_added = (min(local[name]["CPU"]) - min(local[BASELINE]["CPU"])) / 1000 * 1e6
        print(
            f"{name}: CPU added per call {added:.0f} us over HTTP, {local_added:.0f} us in-process"
        )


if __name__ == "__main__":
    main()
