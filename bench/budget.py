"""Budgets: the cost of one reservation + settlement per store, and overspend under load.

1. Latency: one `BudgetGate.reserve` + `BudgetGate.settle` of a call with one budget
   (per tenant) and with two (per tenant + global), per store, against one bare round
   trip to the same server through the same driver, measured in the same run: ``PING``
   on a redis-py connection, ``SELECT 1`` on a psycopg connection in autocommit mode.
   A reservation and a settlement are one round trip each on Redis and Postgres, so
   "beyond 2 round trips" is what the two operations cost besides the network: the
   server's work on them and the client's. Targets (issue 16): in-process <= 20 us,
   Redis <= 0.3 ms, SQLite <= 0.5 ms, Postgres <= 1 ms on loopback.
2. Overspend: 4 processes x 8 threads spend a $1 budget with calls that take 20 ms and
   cost 30-100% of their $0.02 worst case, until refused. Ours reserves the worst case
   before each call; the baseline checks the spend, calls, then adds the cost (the
   check-then-increment of LiteLLM's proxy budgets, its issue #34732), on the same store.

Run: python bench/budget.py [--skip-overspend]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import psycopg
import redis
import sqlalchemy as sa
from _timing import interleaved, print_table

from langchain_costrouter.budgets import Budget, BudgetGate, CallContext, open_store
from langchain_costrouter.budgets.claims import ClaimMaker, claims_of
from langchain_costrouter.budgets.money import to_pico
from langchain_costrouter.budgets.sql_store import SQLStore
from langchain_costrouter.errors import BudgetExhaustedError
from langchain_costrouter.ledger.engine import sqlalchemy_url

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "COSTROUTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGET_US = {"memory": 20, "sqlite": 500, "redis": 300, "postgres": 1000}
CONTEXT = CallContext("chat", {"tenant": "acme"})
TENANT = Budget(name="tenant", per="tenant", limit_usd=10**6, soft_threshold=None)
EVERYONE = Budget(name="everyone", limit_usd=10**6, per=None, soft_threshold=None)

LIMIT, WORST_CASE, CALL_SECONDS = Decimal(1), Decimal("0.02"), 0.02
PROCESSES, THREADS = 4, 8
ROUNDS = 9


def store_urls(directory: Path) -> dict[str, str]:
    token = uuid.uuid4().hex[:10]
    return {
        "memory": "memory://",
        "sqlite": f"sqlite:///{directory / 'budgets.sqlite'}",
        "redis": f"{REDIS_URL}?prefix=costrouter-bench:{token}:",
        "postgres": f"{POSTGRES_URL}?prefix=bench{token}_",
    }


def round_trip(kind: str, url: str) -> Any:
    """One bare round trip to the store's server: the floor under any operation."""
    if kind == "memory":
        lock, counts = threading.Lock(), {"n": 0}

        def locked_increment() -> None:
            with lock:
                counts["n"] += 1

        return locked_increment
    if kind == "redis":
        connection = redis.Redis.from_url(url.split("?")[0]).connection_pool.get_connection()

        def ping() -> None:
            connection.send_command("PING")
            connection.read_response()

        return ping
    if kind == "postgres":
        driver = sa.make_url(sqlalchemy_url(url.split("?")[0])).set(drivername="postgresql")
        conn = psycopg.connect(driver.render_as_string(hide_password=False), autocommit=True)
        return lambda: conn.execute("SELECT 1").fetchall()
    engine = sa.create_engine(sqlalchemy_url(url.split("?")[0]))
    select_one = sa.text("SELECT 1")

    def select() -> None:
        with engine.connect() as conn:
            conn.execute(select_one)

    return select


def reserve_and_settle(gate: BudgetGate) -> Any:
    def call() -> None:
        gate.settle(gate.reserve(CONTEXT, "openai/gpt-4o-mini", Decimal("0.001")), 0.0004)

    return call


def latency_table(urls: dict[str, str]) -> None:
    rows = []
    for kind, url in urls.items():
        one = BudgetGate([TENANT], url)
        two = BudgetGate([TENANT, EVERYONE], one.store)
        fns = {
            "round trip": round_trip(kind, url),
            "1 budget": reserve_and_settle(one),
            "2 budgets": reserve_and_settle(two),
        }
        for fn in fns.values():
            fn()  # connect, create tables, load scripts
        calls = 2000 if kind == "memory" else 200
        medians = interleaved(fns, calls=calls, rounds=ROUNDS)
        base = medians["round trip"]
        for name in ("1 budget", "2 budgets"):
            micros = medians[name] * 1e6
            beyond = f"{micros - 2 * base * 1e6:.1f}" if kind in ("redis", "postgres") else "-"
            rows.append(
                [
                    kind,
                    name,
                    f"{micros:.1f}",
                    f"{base * 1e6:.1f}",
                    f"{medians[name] / base:.1f}",
                    beyond,
                    f"<= {TARGET_US[kind]}",
                    "yes" if micros <= TARGET_US[kind] else "NO",
                ]
            )
    headers = ["store", "budgets", "reserve+settle (us)", "round trip (us)", "ratio"]
    print_table([*headers, "beyond 2 round trips (us)", "target (us)", "met"], rows)


def spend(url: str, reserve_first: bool, seed: int) -> dict[str, Any]:
    """One process: THREADS callers spending the tenant budget until refused."""
    store = open_store(url)
    gate = BudgetGate(
        [Budget(name="tenant", per="tenant", limit_usd=LIMIT, soft_threshold=None)], store
    )
    claims = claims_of([ClaimMaker(gate.budgets[0])], CONTEXT, time.time())
    results: list[tuple[int, int]] = []  # (calls, refusals) per thread

    def caller(index: int) -> None:
        rng, calls = random.Random(seed * 100 + index), 0
        while True:
            cost = WORST_CASE * rng.randint(30, 100) / 100
            if reserve_first:
                try:
                    reservation = gate.reserve(CONTEXT, "d", WORST_CASE)
                except BudgetExhaustedError:
                    break
                time.sleep(CALL_SECONDS)
                gate.settle(reservation, cost)
            else:  # check, call, then increment: the race of LiteLLM issue #34732
                ((spent, _),) = store.read(claims)
                if spent >= claims[0].limit:
                    break
                time.sleep(CALL_SECONDS)
                store.settle(claims, uuid.uuid4().hex, 0, to_pico(cost, "cost"))
            calls += 1
        results.append((calls, 1))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"calls": sum(calls for calls, _ in results)}


def overspend_table(urls: dict[str, str]) -> None:
    rows = []
    spawn = get_context("spawn")
    for kind, base_url in urls.items():
        if kind == "memory":
            continue  # one process only: nothing shared to race on
        for reserve_first in (True, False):
            url = _fresh_prefix(base_url)
            with ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
                runs = list(
                    pool.map(
                        spend, [url] * PROCESSES, [reserve_first] * PROCESSES, range(PROCESSES)
                    )
                )
            gate = BudgetGate(
                [Budget(name="tenant", per="tenant", limit_usd=LIMIT, soft_threshold=None)], url
            )
            (status,) = gate.status(CONTEXT)
            calls = sum(run["calls"] for run in runs)
            method = "reserve worst case (ours)" if reserve_first else "check, then increment"
            rows.append(
                [
                    kind,
                    method,
                    calls,
                    f"{status.spent_usd:.4f}",
                    f"{status.spent_usd / LIMIT:.1%}",
                    f"{max(Decimal(0), status.spent_usd - LIMIT):.4f}",
                ]
            )
            _clean(gate.store, url)
    print_table(["store", "budget check", "calls", "spent $", "of limit", "over limit $"], rows)


def _fresh_prefix(url: str) -> str:
    if url.startswith("sqlite"):
        return url.replace("budgets.sqlite", f"budgets-{uuid.uuid4().hex[:8]}.sqlite")
    base, prefix = url.split("?prefix=")
    return f"{base}?prefix={prefix}{uuid.uuid4().hex[:6]}" + (":" if "redis" in base else "_")


def _clean(store: Any, url: str) -> None:
    if isinstance(store, SQLStore):
        store.drop_tables()
    elif url.startswith("redis"):
        base, prefix = url.split("?prefix=")
        client = redis.Redis.from_url(base)
        names = list(client.scan_iter(match=prefix + "*"))
        if names:
            client.delete(*names)
    store.close()


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-overspend", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        urls = store_urls(Path(directory))
        print(f"One reservation + settlement (median of {ROUNDS} interleaved rounds)")
        print(f"load average before: {_load()}\n")
        latency_table(urls)
        print(f"\nload average after: {_load()}")
        for kind in ("sqlite", "redis", "postgres"):
            _clean(open_store(urls[kind]), urls[kind])
        if not args.skip_overspend:
            print(
                f"\nOverspend: {PROCESSES} processes x {THREADS} threads, ${LIMIT} limit, "
                f"${WORST_CASE} worst case, {CALL_SECONDS * 1000:.0f} ms calls\n"
            )
            overspend_table(urls)


if __name__ == "__main__":
    main()
