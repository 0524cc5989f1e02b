"""What two guarantees of the stores cost under load: the cross-process lock and the journal.

bench/concurrency.py shows the diskcache cache and the SQLite ledger adding 10-18% to a
loopback ``ChatOpenAI`` call in a 64-thread ``batch()``. This bench asks how much of that
two guarantees cost, by turning each off on an otherwise identical router:

- the cross-process coalescing lock (a byte-range lock on the cache's lock file per
  miss, released once the answer is committed): identical misses in *other* processes
  wait for one provider call. Off, only this process's threads and tasks coalesce;
- the ledger journal (each call appended to a file before ``add_call`` returns): a call
  that returned keeps its rows through a kill or a database outage. Off, rows wait in
  memory until the next background write.

Neither "off" is a supported configuration: the bench reaches into the stores after
building the router, to price each guarantee, nothing more. The child sleeps like a
network call instead of parsing HTTP, so the process's CPU per call is the router's,
the stores' and LangChain's own work, without a server competing for the two cores.
Rounds are interleaved; the figures are medians over rounds of CPU per call.

Run: python bench/concurrency_ablation.py [--requests 1000] [--in-flight 64] [--rounds 11]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table
from concurrency import time_sync
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.ledger.spool import SPOOL_DIR_ENV

CHILD = "child alone"
BOTH = "router + diskcache + SQLite ledger"


class SleepingChatModel(BaseChatModel):
    """Answers after ``latency`` seconds of sleep (the GIL let go, as a socket read does)."""

    model: str = "gpt-4o-mini"  # priced like the loopback bench's model
    latency: float = 0.003

    @property
    def _llm_type(self) -> str:
        return "sleeping"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> ChatResult:
        time.sleep(self.latency)
        usage = {"input_tokens": 20, "output_tokens": 3, "total_tokens": 23}
        message = AIMessage(
            content="positive",
            usage_metadata=usage,  # type: ignore[arg-type]
            response_metadata={"model_name": "gpt-4o-mini"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def configurations(workdir: Path, latency: float) -> dict[str, BaseChatModel]:
    def router(name: str) -> RoutedChatModel:
        child = SleepingChatModel(latency=latency)
        return RoutedChatModel(
            routes={"chat": [child]},
            default_task="chat",
            cache=f"diskcache://{workdir / name / 'cache'}",
            ledger=f"sqlite:///{workdir / name / 'ledger.sqlite3'}",
        )

    without_lock, without_journal, without_either = router("a"), router("b"), router("c")
    for model in (without_lock, without_either):
        _drop_cross_process_lock(model)
    for model in (without_journal, without_either):
        _drop_journal(model)
    return {
        CHILD: SleepingChatModel(latency=latency),
        BOTH: router("both"),
        "  without the cross-process lock": without_lock,
        "  without the ledger journal": without_journal,
        "  without either": without_either,
    }


def _drop_cross_process_lock(model: RoutedChatModel) -> None:
    """Leaders take no lock in the store: only in-process flights coalesce."""
    coalescer = model.cache_store._coalescer
    coalescer.lock_remote = lambda key: (False, None)


def _drop_journal(model: RoutedChatModel) -> None:
    """Rows are queued in memory only (as when the journal's directory is unwritable)."""
    model.ledger_store._writer._journal = None


def cpu_per_call(model: BaseChatModel, count: int, in_flight: int) -> float:
    """Microseconds of the process's CPU per call of a ``batch()``, stores' commits included."""
    _, cpu = time_sync(model, count, in_flight)
    return cpu / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--latency", type=float, default=0.003)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[SPOOL_DIR_ENV] = str(Path(tmp) / "spool")  # journals left open die with it
        models = configurations(Path(tmp), args.latency)
        for model in models.values():  # warm up: threads, prepared statements, prices
            cpu_per_call(model, 64, args.in_flight)
        gc.collect()
        gc.freeze()  # as bench/concurrency.py does
        samples: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(args.rounds):
            for name, model in models.items():
                samples[name].append(cpu_per_call(model, args.requests, args.in_flight))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    added = medians[BOTH] - medians[CHILD]
    print(
        f"{args.requests} distinct calls per round, {args.in_flight} in flight (sync batch()), "
        f"child sleeping {args.latency * 1000:g} ms; medians of {args.rounds} interleaved rounds"
    )
    rows = [
        [
            name,
            f"{cpu:.0f}",
            f"{cpu - medians[CHILD]:+.0f}",
            "" if name == CHILD else f"{(medians[BOTH] - cpu) / added:.0%}",
        ]
        for name, cpu in medians.items()
    ]
    print_table(["configuration", "CPU us/call", "vs child", "share of the addition saved"], rows)


if __name__ == "__main__":
    main()
