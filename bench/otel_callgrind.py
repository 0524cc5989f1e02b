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

Counting starts after start-up and warm-up: a small C helper (compiled here with
``cc`` against valgrind's ``callgrind.h``) zeroes the counters before each
configuration's calls and dumps them after, labelled. Instructions are not time (a
cache miss or a system call counts as little), so this is the figure to compare
before and after a change, beside bench/otel.py's CPU times.

Run: python bench/otel_callgrind.py [--requests 100]   (needs valgrind and cc; two runs, ~5 min)
"""

from __future__ import annotations

import argparse
import ctypes
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

FLOOR = "SDK floor (issue's spans + histograms)"
OURS = "our reporting"
HELPER = """
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


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

    valgrind = ctypes.CDLL(helper)
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
        valgrind.cg_start()
        for name, model in models.items():
            flush()
            valgrind.cg_zero()
            sequential(model, count)
            valgrind.cg_dump(name.encode())
        for name, loop in loops.items():
            flush()
            valgrind.cg_zero()
            for _ in range(count):
                loop()
            flush()
            valgrind.cg_dump(name.encode())


def dumps(outputs: Path) -> dict[str, int]:
    """Instructions by dump label (a run with ``--separate-threads=yes`` dumps only the
    thread that asked, here the calling thread)."""
    counts: dict[str, int] = {}
    for dump in outputs.glob("callgrind.out.*"):
        text = dump.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
        total = re.search(r"^summary: (\d+)", text, re.M)
        if label and total:
            counts[label.group(1)] = int(total.group(1))
    return counts


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


def run(helper: Path, work: Path, count: int, *options: str) -> dict[str, int]:
    """This script's measurements under callgrind, read from its dumps."""
    work.mkdir()
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            *options,
            f"--callgrind-out-file={work}/callgrind.out.%p",
            sys.executable,
            __file__,
            f"--requests={count}",
            f"--helper={helper}",
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return dumps(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        measure(args.helper, args.requests)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "helper.c").write_text(HELPER)
        helper = work / "helper.so"
        subprocess.run(["cc", "-shared", "-fPIC", "-o", helper, work / "helper.c"], check=True)
        total = run(helper, work / "all", args.requests)
        caller = run(helper, work / "caller", args.requests, "--separate-threads=yes")
        report(total, caller, args.requests)


if __name__ == "__main__":
    main()
