"""`costrouter report` on a large ledger: its summaries of 200,000 rows, SQLite and Postgres.

The rows are synthetic routed calls of every shape a report sums (bench/_report_rows.py),
written by the ledger's own writer into a SQLite file and into the Postgres at
``COSTROUTER_TEST_POSTGRES_URL`` (tables under a prefix of this run, dropped at the end,
ANALYZEd once written, as autovacuum would). Per store, the median over rounds (each the
better of two runs in one process) of:

* each summary of the whole ledger alone (by task, model, day, and the total);
* what ``costrouter report`` reads in one snapshot: its groups by task and their total,
  and with ``--html`` the days and the tasks again;
* filtered summaries (the last day, the last week, one task, one namespace);
* the ``costrouter report --json`` process, start to exit.

``--against DIR`` measures another checkout's package too (e.g. an export of main before
a change), on ledgers it writes itself at its own schema, round by round with this one,
and prints both with their ratio. Each side runs in worker processes of its own package.

Run: python bench/ledger_report.py [--rows 200000] [--rounds 5] [--against DIR]
                                   [--skip sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _report_rows import END, ledger_rows
from _timing import print_table

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "COSTROUTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLI = "import sys; from langchain_costrouter.cli import main; sys.exit(main())"
DAY, WEEK = str(END - timedelta(days=1)), str(END - timedelta(days=7))
Reading = Callable[[Any], object]


def _report(*groupings: str) -> Reading:
    """The summaries ``costrouter report`` reads, in one snapshot."""

    def read(ledger: Any) -> object:
        with ledger.snapshot() as view:
            return [view.summary(by) for by in groupings]

    return read


SCENARIOS: dict[str, Reading] = {
    "by task": lambda ledger: ledger.summary("task"),
    "by model": lambda ledger: ledger.summary("model"),
    "by day": lambda ledger: ledger.summary("day"),
    "total": lambda ledger: ledger.summary("all"),
    "report: tasks + total": _report("task", "all"),
    "report --html: + days, tasks": _report("task", "all", "day", "task"),
    "last day, total": lambda ledger: ledger.summary("all", since=DAY),
    "last week, by task": lambda ledger: ledger.summary("task", since=WEEK),
    "one task, by day": lambda ledger: ledger.summary("day", task="chat"),
    "one task, last week": lambda ledger: ledger.summary("all", task="chat", since=WEEK),
    "one namespace, last week, by model": lambda ledger: ledger.summary(
        "model", namespace="acme", since=WEEK
    ),
}
PROCESS = "costrouter report --json (process)"


def build(url: str, prefix: str, rows: int) -> None:
    """Write ``rows`` rows with the ledger's own writer (then ANALYZE on Postgres)."""
    import sqlalchemy as sa

    from langchain_costrouter.ledger import open_ledger

    every = list(ledger_rows(rows))
    with open_ledger(url, table_prefix=prefix) as ledger:
        for start in range(0, len(every), 5_000):
            ledger.add(every[start : start + 5_000])
            ledger.flush()
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql(f"ANALYZE {prefix}ledger")
            conn.commit()
        engine.dispose()


def measure(url: str, prefix: str) -> dict[str, float]:
    """Seconds of each scenario: the better of two runs."""
    from langchain_costrouter.ledger import open_ledger

    seconds = {}
    with open_ledger(url, table_prefix=prefix) as ledger:
        for name, read in SCENARIOS.items():
            runs = []
            for _ in range(2):
                start = time.perf_counter()
                read(ledger)
                runs.append(time.perf_counter() - start)
            seconds[name] = min(runs)
    return seconds


def _worker(package: Path, *argv: str) -> str:
    """This file run with ``package``'s langchain_costrouter first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), str(ROOT / "bench")])}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *argv],
        env=env,
        cwd=package,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _process_seconds(package: Path, url: str, prefix: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(package)}
    argv = [sys.executable, "-c", CLI, "report", "--ledger", url, "--table-prefix", prefix]
    start = time.perf_counter()
    subprocess.run([*argv, "--json"], env=env, cwd=package, check=True, capture_output=True)
    return time.perf_counter() - start


def _drop_tables(url: str, prefix: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine, only=lambda name, _: name.startswith(prefix))
    metadata.drop_all(engine)
    engine.dispose()


def run(rows: int, rounds: int, against: Path | None, stores: Sequence[str]) -> None:
    sides = {"this": ROOT, **({"against": against} if against else {})}
    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as directory:
        ledgers = {
            (side, store): (
                f"sqlite:///{directory}/{side}.db" if store == "sqlite" else POSTGRES_URL,
                f"bench{run_id}{side[0]}_",
            )
            for side in sides
            for store in stores
        }
        try:
            for (side, store), (url, prefix) in ledgers.items():
                print(f"writing {rows:,} rows: {store}, {side}", file=sys.stderr, flush=True)
                _worker(sides[side], "build", url, prefix, str(rows))
            samples: dict[tuple[str, str], list[dict[str, float]]] = {key: [] for key in ledgers}
            for number in range(rounds):
                print(f"round {number + 1} of {rounds}", file=sys.stderr, flush=True)
                for (side, store), (url, prefix) in ledgers.items():
                    figures = json.loads(_worker(sides[side], "measure", url, prefix))
                    figures[PROCESS] = _process_seconds(sides[side], url, prefix)
                    samples[(side, store)].append(figures)
        finally:
            for side, store in ledgers:
                if store == "postgres":
                    _drop_tables(*ledgers[(side, store)])
    for store in stores:
        print(f"\n{store}, {rows:,} rows: median ms over {rounds} rounds")
        _print_store({side: samples[(side, store)] for side in sides}, against)


def _print_store(samples: dict[str, list[dict[str, float]]], against: Path | None) -> None:
    medians = {
        side: {name: statistics.median(r[name] for r in runs) for name in runs[0]}
        for side, runs in samples.items()
    }
    rows = []
    for name, seconds in medians["this"].items():
        row = [name, f"{seconds * 1e3:.1f}"]
        if against is not None:
            before = medians["against"][name]
            row = [name, f"{before * 1e3:.1f}", f"{seconds * 1e3:.1f}", f"{seconds / before:.2f}"]
        rows.append(row)
    headers = ["scenario", "ms"]
    if against is not None:
        headers = ["scenario", f"ms ({against})", "ms (this)", "ratio this / against"]
    print_table(headers, rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout to compare")
    parser.add_argument("--skip", choices=("sqlite", "postgres"), help="leave out one store")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        task, url, prefix, *rest = args.worker
        if task == "build":
            build(url, prefix, int(rest[0]))
        else:
            print(json.dumps(measure(url, prefix)))
        return
    stores = [store for store in ("sqlite", "postgres") if store != args.skip]
    run(args.rows, args.rounds, args.against, stores)


if __name__ == "__main__":
    main()
