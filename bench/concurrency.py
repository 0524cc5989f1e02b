"""The router under load: many concurrent calls over loopback HTTP, with and without stores.

400 distinct requests (every one a cache miss), 64 in flight, against the local
OpenAI-compatible server running in its own process (so its work does not share the
client's interpreter). Each configuration is timed in interleaved rounds, direct first
in each; ratios are against ``ChatOpenAI`` alone in the same run, two ways: best round
against best round, and the median over rounds of each run's ratio to the direct run of
its round, seconds earlier (the machine's speed drifts by 5-15% within minutes; pairing
cancels most of it). A round ends
once the configuration's stores have committed what it wrote (their background
threads' work counts). Two figures per round: wall time, and the client process's CPU
time (every thread of it), which a busy machine disturbs less than wall time.

After the warm-up, ``gc.freeze()`` moves every object alive then (langchain-openai's
import alone leaves some 150,000) out of the collector's reach, as servers that preload
their app do. Without it each full collection walks that heap for 70-90 ms, and whether
one lands in a round moves the round's figure by 5-15%, whichever configuration it is;
what the router allocates per call is still collected, and counted, as before.

- async: ``ainvoke`` under an ``asyncio.Semaphore(64)``;
- sync: ``batch(..., max_concurrency=64)`` (LangChain's thread pool).

Targets (issue: one request flow, fast under load): bare router <= 1.03, router with
the diskcache cache and the SQLite ledger <= 1.10.

Run: python bench/concurrency.py [--requests 400] [--in-flight 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel

_SERVER = (
    "import sys, time\n"
    "from langchain_costrouter.testing import LocalOpenAIServer\n"
    "server = LocalOpenAIServer().start()\n"
    "print(server.base_url, flush=True)\n"
    "sys.stdin.read()\n"
)
_salt = itertools.count()
DIRECT = "ChatOpenAI alone"


@contextmanager
def server_process() -> Iterator[str]:
    """The test server in a child process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


def prompts(count: int) -> list[str]:
    """Distinct prompts, never seen before in this run (every call misses the cache)."""
    salt = next(_salt)
    return [f"Classify the sentiment of review {salt}-{i}: late but kind." for i in range(count)]


def configurations(base_url: str, workdir: Path) -> dict[str, BaseChatModel]:
    def child() -> ChatOpenAI:
        return ChatOpenAI(
            model="gpt-4o-mini", base_url=base_url, api_key="bench", max_retries=0, cache=False
        )

    def router(**stores: Any) -> RoutedChatModel:
        return RoutedChatModel(routes={"chat": [child()]}, default_task="chat", **stores)

    return {
        DIRECT: child(),
        "router, bare": router(),
        "router + diskcache": router(cache=f"diskcache://{workdir / 'cache'}"),
        "router + SQLite ledger": router(ledger=f"sqlite:///{workdir / 'ledger.sqlite3'}"),
        "router + both": router(
            cache=f"diskcache://{workdir / 'cache2'}",
            ledger=f"sqlite:///{workdir / 'ledger2.sqlite3'}",
        ),
    }


Timing = tuple[float, float]
"""Wall seconds and client CPU seconds of one round."""


def time_async(model: BaseChatModel, count: int, in_flight: int) -> Timing:
    async def run() -> Timing:
        gate = asyncio.Semaphore(in_flight)

        async def one(prompt: str) -> None:
            async with gate:
                await model.ainvoke(prompt)

        batch = prompts(count)
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(p) for p in batch))
        committed(model)
        return time.perf_counter() - start, time.process_time() - cpu

    return asyncio.run(run())


def time_sync(model: BaseChatModel, count: int, in_flight: int) -> Timing:
    batch = prompts(count)
    start, cpu = time.perf_counter(), time.process_time()
    model.batch(batch, config={"max_concurrency": in_flight})  # type: ignore[arg-type]
    committed(model)
    return time.perf_counter() - start, time.process_time() - cpu


def committed(model: BaseChatModel) -> None:
    """Wait for the router's stores to commit this round's writes (their cost counts)."""
    if isinstance(model, RoutedChatModel):
        if model.ledger_store is not None:
            model.ledger_store.flush()
        backend = getattr(model.cache_store, "backend", None)
        if backend is not None and hasattr(backend, "flush"):  # diskcache's write-behind
            backend.flush()


def rounds_of(
    timer: Callable[[BaseChatModel, int, int], Timing],
    models: dict[str, BaseChatModel],
    *,
    count: int,
    in_flight: int,
    rounds: int,
) -> dict[str, list[Timing]]:
    """Every round of each configuration, round-robin so drift hits all alike."""
    times: dict[str, list[Timing]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            times[name].append(timer(model, count, in_flight))
    return times


def load_arguments(doc: str) -> argparse.Namespace:
    """``--requests``, ``--in-flight`` and ``--rounds``: the load of this bench and its floor."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args()


def main() -> None:
    args = load_arguments(__doc__)
    with server_process() as base_url, tempfile.TemporaryDirectory() as tmp:
        models = configurations(base_url, Path(tmp))
        for model in models.values():  # warm up: connections, imports, price lookups
            time_async(model, 8, 8)
            time_sync(model, 8, 8)
        gc.collect()
        gc.freeze()  # see the module docstring
        kwargs = {"count": args.requests, "in_flight": args.in_flight, "rounds": args.rounds}
        async_times = rounds_of(time_async, models, **kwargs)
        sync_times = rounds_of(time_sync, models, **kwargs)
    print(
        f"{args.requests} distinct requests, {args.in_flight} in flight, {args.rounds} rounds; "
        "ratios against ChatOpenAI alone: of the best rounds, and the median of each "
        "run's ratio to the direct run of its round"
    )
    for label, times in (("async", async_times), ("sync batch", sync_times)):
        print(f"\n{label}")
        headers = ["configuration", "best s", "ratio", "CPU s", "CPU ratio"]
        rows = [[name, *_figures(times, name)] for name in models]
        print_table([*headers, "paired ratio", "paired CPU ratio"], rows)


def _figures(times: dict[str, list[Timing]], name: str) -> list[str]:
    """Best wall and CPU (and their ratios to the best direct round), then the medians of
    the per-round ratios: each run against the direct run of its round, seconds earlier,
    so the machine's drift over a run (here 5-15% within minutes) mostly cancels."""
    mine, direct = times[name], times[DIRECT]
    wall, cpu = min(t[0] for t in mine), min(t[1] for t in mine)
    direct_wall, direct_cpu = min(t[0] for t in direct), min(t[1] for t in direct)
    paired_wall = statistics.median(m[0] / d[0] for m, d in zip(mine, direct, strict=True))
    paired_cpu = statistics.median(m[1] / d[1] for m, d in zip(mine, direct, strict=True))
    return [
        f"{wall:.3f}",
        f"{wall / direct_wall:.3f}",
        f"{cpu:.3f}",
        f"{cpu / direct_cpu:.3f}",
        f"{paired_wall:.3f}",
        f"{paired_cpu:.3f}",
    ]


if __name__ == "__main__":
    main()
