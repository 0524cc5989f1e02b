"""What OpenTelemetry costs a routed call, in instructions: bench/otel.py under callgrind.

Wall and CPU time on a shared 2-core machine move by several percent from run to run;
valgrind's callgrind counts the instructions the client process executes (all its
threads, the telemetry worker's included), the same on every run. The calls are the
sequential loopback HTTP calls of bench/otel.py (the server runs in its own process,
not under valgrind), plus two configurations that split the SDK's cost: spans only
(no meter provider) and metrics only (no tracer provider). A second run counts the
calling thread alone (``--separate-threads``): the request path's own instructions
(the telemetry worker and the batch span processor's thread make the rest). Last,
the loops of bench/otel_floor.py: the SDK alone making what issue 18 asks for one
call, and our reporting of that call.

Counting starts after start-up and warm-up (see bench/_callgrind.py); this is the
figure to compare before and after a change, beside bench/otel.py's CPU times.

Run: python bench/otel_callgrind.py [--requests 100]   (needs valgrind and cc; two runs, ~5 min)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _callgrind import Counter, helper_library, run

FLOOR = "SDK floor (issue's spans + histograms)"
OURS = "our reporting"


def measure(helper: str, count: int) -> None:
    """Under callgrind: each configuration's ``count`` calls, one labelled dump each."""
    from concurrency import server_process
    from langchain_openai import ChatOpenAI
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from otel import DroppingExporter, configurations, interleaved, sequential
    from otel_floor import floor, ours

    from langchain_costrouter import RoutedChatModel
    from langchain_costrouter.telemetry import TelemetryProviders, flush

    valgrind = Counter(helper)
    with server_process() as base_url:

        def child() -> ChatOpenAI:
            return ChatOpenAI(
                model="gpt-4o-mini", base_url=base_url, api_key="bench", max_retries=0, cache=False
            )

        models = configurations(child)
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
        parts = {
            "spans only": TelemetryProviders(tracer_provider, None),
            "metrics only": TelemetryProviders(None, MeterProvider([InMemoryMetricReader()])),
        }
        for name, providers in parts.items():
            models[name] = RoutedChatModel(
                routes={"chat": [child()]}, default_task="chat", telemetry=providers
            )
        interleaved(models, sequential, 10, 1)  # warm up
        loops = {FLOOR: floor(models["SDK, batch spans"]), OURS: ours(models["SDK, batch spans"])}
        for loop in loops.values():
            for _ in range(count):  # warm up
                loop()
        valgrind.start()
        for name, model in models.items():
            flush()
            valgrind.zero()
            sequential(model, count)
            valgrind.dump(name)
        for name, loop in loops.items():
            flush()
            valgrind.zero()
            for _ in range(count):
                loop()
            flush()
            valgrind.dump(name)


def report(total: dict[str, int], caller: dict[str, int], count: int) -> None:
    """Instructions per call of each dump, against the router with telemetry off: all
    threads, and the calling thread alone (the request path)."""
    from _timing import print_table
    from otel import BASELINE

    base, base_caller = total[BASELINE], caller[BASELINE]
    rows = [
        [
            name,
            f"{total[name] / count:,.0f}",
            f"{total[name] / base:.3f}",
            f"{(total[name] - base) / count:+,.0f}",
            f"{caller[name] / count:,.0f}",
            f"{caller[name] / base_caller:.3f}",
            f"{(caller[name] - base_caller) / count:+,.0f}",
        ]
        for name in total
        if name not in (FLOOR, OURS)
    ]
    print(f"loopback HTTP, {count} sequential calls per configuration, client instructions")
    headers = ["configuration", "all threads/call", "ratio", "added", "caller/call", "ratio"]
    print_table([*headers, "added"], rows)
    print(f"\nbench/otel_floor.py, {count} iterations: instructions per call")
    rows = [
        [name, f"{total[name] / count:,.0f}", f"{total[name] / base:.3f}"] for name in (FLOOR, OURS)
    ]
    print_table(["per call", "instructions", "share of a loopback call"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        measure(args.helper, args.requests)
        return
    requests = f"--requests={args.requests}"
    with helper_library() as (helper, work):
        total = run(__file__, helper, work / "all", requests)
        caller = run(__file__, helper, work / "caller", "--separate-threads=yes", "--", requests)
        report(total, caller, args.requests)


if __name__ == "__main__":
    main()
