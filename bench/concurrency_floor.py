"""The floor under bench/concurrency.py: the least a cache and a ledger on these stores cost.

Per call, on the caller's side: a SHA-256 key of the prompt's JSON (orjson) and a dict
lookup that misses; after the answer, its JSON queued for a thread that commits a
diskcache ``set`` per entry, one transaction per 20 ms, and one ledger row (six columns)
queued for a thread that inserts batches with ``executemany`` into SQLite every 200 ms,
the router's own intervals. Nothing else: no coalescing, no journal, no pricing, no
record, no route. Both sides run as ``RunnableLambda`` over the same ``ChatOpenAI``,
so LangChain's own per-call work is the same on each; ratios are against the bare one.

What the router adds above this floor (bench/concurrency.py's "router + both" against
the floor's ratio) is what its features cost: the router's own LangChain wrapper,
coalescing, the ledger journal, pricing, records and savings.

Run: python bench/concurrency_floor.py [--requests 400] [--in-flight 64] [--rounds 5]
"""

from __future__ import annotations

import asyncio
import collections
import gc
import hashlib
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
import orjson

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table
from concurrency import Timing, load_arguments, prompts, server_process
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_openai import ChatOpenAI


class Batches:
    """Items queued by callers, committed in batches by one daemon thread."""

    def __init__(self, commit: Callable[[list[Any]], None], gather: float) -> None:
        self._queue: collections.deque[Any] = collections.deque()
        self._commit = commit
        self._gather = gather
        self._wake = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def put(self, item: Any) -> None:
        self._queue.append(item)
        if not self._wake.is_set():
            self._wake.set()

    def flush(self) -> None:
        with self._lock:
            items = [self._queue.popleft() for _ in range(len(self._queue))]
            if items:
                self._commit(items)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self._gather)
            self._wake.clear()
            self.flush()


class Floor:
    """``ChatOpenAI`` with the least work a diskcache cache and a SQLite ledger need."""

    def __init__(self, chat: ChatOpenAI, workdir: Path) -> None:
        self.chat = chat
        self.cache = diskcache.Cache(str(workdir / "cache"))
        self.ledger = sqlite3.connect(
            workdir / "ledger.sqlite3", check_same_thread=False, isolation_level=None
        )
        self.ledger.execute("PRAGMA journal_mode=wal")
        self.ledger.execute(
            "CREATE TABLE calls (run TEXT, task TEXT, model TEXT, cost INTEGER, "
            "input_tokens INTEGER, output_tokens INTEGER)"
        )
        self.answers: dict[str, AIMessage] = {}
        self.entries = Batches(self._store, gather=0.02)
        self.rows = Batches(self._insert, gather=0.2)

    def key(self, prompt: str) -> str:
        document = {"messages": [{"role": "human", "content": prompt}], "task": "chat"}
        return hashlib.sha256(orjson.dumps(document)).hexdigest()

    def invoke(self, prompt: str) -> AIMessage:
        key = self.key(prompt)
        if (hit := self.answers.get(key)) is not None:
            return hit
        return self.keep(key, self.chat.invoke(prompt))

    async def ainvoke(self, prompt: str) -> AIMessage:
        key = self.key(prompt)
        if (hit := self.answers.get(key)) is not None:
            return hit
        return self.keep(key, await self.chat.ainvoke(prompt))

    def keep(self, key: str, message: Any) -> AIMessage:
        document = {"content": message.content, "metadata": message.response_metadata}
        self.entries.put((key, orjson.dumps(document)))
        usage = message.usage_metadata or {}
        row = (
            "run",
            "chat",
            "gpt-4o-mini",
            1,
            usage.get("input_tokens"),
            usage.get("output_tokens"),
        )
        self.rows.put(row)
        return message  # type: ignore[no-any-return]

    def flush(self) -> None:
        self.entries.flush()
        self.rows.flush()

    def _store(self, entries: list[tuple[str, bytes]]) -> None:
        with self.cache.transact():
            for key, value in entries:
                self.cache.set(key, value)

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        self.ledger.execute("BEGIN")
        self.ledger.executemany("INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.ledger.execute("COMMIT")


def runnables(chat: ChatOpenAI, floor: Floor) -> dict[str, Runnable[str, Any]]:
    async def direct(prompt: str) -> Any:
        return await chat.ainvoke(prompt)

    return {
        "ChatOpenAI alone": RunnableLambda(chat.invoke, afunc=direct),
        "floor: + key, cache, ledger": RunnableLambda(floor.invoke, afunc=floor.ainvoke),
    }


def timed(runnable: Runnable[str, Any], floor: Floor, count: int, in_flight: int) -> Timing:
    batch, config = prompts(count), {"max_concurrency": in_flight}
    start, cpu = time.perf_counter(), time.process_time()
    runnable.batch(batch, config=config)  # type: ignore[arg-type]
    floor.flush()
    return time.perf_counter() - start, time.process_time() - cpu


def atimed(runnable: Runnable[str, Any], floor: Floor, count: int, in_flight: int) -> Timing:
    batch, config = prompts(count), {"max_concurrency": in_flight}
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(runnable.abatch(batch, config=config))  # type: ignore[arg-type]
    floor.flush()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    args = load_arguments(__doc__)
    with server_process() as base_url, tempfile.TemporaryDirectory() as tmp:
        chat = ChatOpenAI(
            model="gpt-4o-mini", base_url=base_url, api_key="bench", max_retries=0, cache=False
        )
        floor = Floor(chat, Path(tmp))
        models = runnables(chat, floor)
        for runnable in models.values():
            timed(runnable, floor, 8, 8)
            atimed(runnable, floor, 8, 8)
        gc.collect()
        gc.freeze()  # as bench/concurrency.py does
        best: dict[tuple[str, str], Timing] = {}
        for _ in range(args.rounds):
            for mode, timer in (("async", atimed), ("sync", timed)):
                for name, runnable in models.items():
                    wall, cpu = timer(runnable, floor, args.requests, args.in_flight)
                    old = best.get((mode, name), (float("inf"), float("inf")))
                    best[mode, name] = (min(old[0], wall), min(old[1], cpu))
    print(
        f"{args.requests} distinct requests, {args.in_flight} in flight, "
        f"best of {args.rounds} rounds; ratios against ChatOpenAI alone"
    )
    rows = [[name, *_ratios(best, "async", name), *_ratios(best, "sync", name)] for name in models]
    print_table(["configuration", "async", "CPU", "sync batch", "CPU"], rows)


def _ratios(best: dict[tuple[str, str], Timing], mode: str, name: str) -> list[str]:
    (wall, cpu), (direct_wall, direct_cpu) = best[mode, name], best[mode, "ChatOpenAI alone"]
    return [f"{wall / direct_wall:.3f}", f"{cpu / direct_cpu:.3f}"]


if __name__ == "__main__":
    main()
