"""Nothing lost while Postgres is down: calls are spooled, then written once and in order.

The database sits behind a TCP proxy on 127.0.0.1 that the tests cut and restore.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from langchain_core.messages import AIMessage

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import SQLLedger
from langchain_costrouter.ledger.engine import sqlalchemy_url
from langchain_costrouter.ledger.spool import SPOOL_DIR_ENV
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.integration_tests.ledger.tcp_proxy import TcpProxy
from tests.services import drop_tables

pytestmark = pytest.mark.services
REPO = Path(__file__).resolve().parents[3]
WORKER = (sys.executable, "-m", "tests.integration_tests.ledger.spool_workers")
USAGE = {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110}


@pytest.fixture
def prefix(postgres_url: str) -> Iterator[str]:
    name = f"spool{uuid.uuid4().hex[:8]}_"
    yield name
    drop_tables(postgres_url, name)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    parsed = sa.make_url(postgres_url)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as running:
        yield running


def proxied(postgres_url: str, proxy: TcpProxy) -> str:
    return sa.make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)


def stored_run_ids(postgres_url: str, prefix: str) -> list[str]:
    """Run ids of the stored rows, in the order they were inserted (read past the proxy)."""
    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    try:
        if not sa.inspect(engine).has_table(f"{prefix}ledger"):
            return []
        with engine.connect() as conn:
            table = sa.table(f"{prefix}ledger", sa.column("id"), sa.column("run_id"))
            return list(conn.execute(sa.select(table.c.run_id).order_by(table.c.id)).scalars())
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_calls_while_cut_are_spooled_then_written_once_in_order(
    postgres_url: str, prefix: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    ledger = SQLLedger(proxied(postgres_url, proxy), table_prefix=prefix, spool_root=tmp_path)
    child = ScriptedChatModel(
        model="gpt-4o-mini", provider="openai", answers=[AIMessage("ok", usage_metadata=USAGE)]
    )
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat", ledger=ledger)
    before = [router.invoke(f"q{i}").response_metadata["costrouter"]["run_id"] for i in range(10)]
    assert ledger.pending_rows() == 0

    proxy.cut()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        during = [
            router.invoke(f"cut {i}").response_metadata["costrouter"]["run_id"] for i in range(120)
        ]
        pending = ledger.pending_rows()
    spooled = [str(w.message) for w in caught if w.category is BackendUnavailableWarning]
    print(f"{len(during)} calls while cut -> {pending} rows spooled")
    assert pending == 120
    assert len(spooled) == 1  # one warning per outage, naming where the rows wait
    assert f"rows wait in the spool at {ledger.spool_dir}" in spooled[0]
    assert stored_run_ids(postgres_url, prefix) == before

    proxy.restore()
    after = [router.invoke(f"back {i}").response_metadata["costrouter"]["run_id"] for i in range(5)]
    wait_until(lambda: ledger.pending_rows() == 0, "the spool to be written")
    ledger.close()
    stored = stored_run_ids(postgres_url, prefix)
    print(f"after restore: {len(stored)} rows in Postgres, {len(stored) - len(set(stored))} dups")
    assert stored == before + during + after  # each once, in call order
    assert list(ledger.spool_dir.parent.iterdir()) == []  # nothing left behind


def kill_after_calls(
    url: str, prefix: str, env: dict[str, str], server: LocalOpenAIServer, calls: int
) -> list[str]:
    """Run a worker that routes ``calls`` calls with the database cut, SIGKILL it once they
    have returned, and return the run ids it printed (one per returned call)."""
    process = subprocess.Popen(
        [*WORKER, server.base_url, url, prefix, str(calls)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert process.stdout is not None
    returned = []
    for line in process.stdout:  # blocks until the worker prints; it is killed after "done"
        if line.strip() == "done":
            break
        returned.append(line.strip())
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return returned


def open_in_new_process(url: str, prefix: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*WORKER, "open", url, prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, SPOOL_DIR_ENV: str(tmp_path), "PYTHONPATH": str(REPO)}


def test_a_killed_process_loses_no_returned_call(
    postgres_url: str,
    prefix: str,
    proxy: TcpProxy,
    worker_env: dict[str, str],
    openai_server: LocalOpenAIServer,
) -> None:
    url = proxied(postgres_url, proxy)
    proxy.cut()
    returned = kill_after_calls(url, prefix, worker_env, openai_server, 40)
    assert len(returned) == 40
    assert stored_run_ids(postgres_url, prefix) == []  # nothing got through the cut proxy

    proxy.restore()
    opened = open_in_new_process(url, prefix, worker_env)
    out, _ = opened.communicate(timeout=300)
    stored = stored_run_ids(postgres_url, prefix)
    print(f"SIGKILL: {len(returned)} returned calls -> {len(stored)} rows after restart")
    assert (opened.returncode, out.strip()) == (0, "0")  # nothing pending once it opened
    assert stored == returned  # every returned call, once, in order


def test_processes_opening_one_spool_at_once_write_each_row_once(
    postgres_url: str,
    prefix: str,
    proxy: TcpProxy,
    worker_env: dict[str, str],
    openai_server: LocalOpenAIServer,
) -> None:
    url = proxied(postgres_url, proxy)
    proxy.cut()
    workers = [  # two killed processes: two orphaned journals
        kill_after_calls(url, prefix, worker_env, openai_server, 20) for _ in range(2)
    ]
    returned = [run_id for worker in workers for run_id in worker]
    proxy.restore()
    openers = [open_in_new_process(url, prefix, worker_env) for _ in range(4)]
    outputs = [opener.communicate(timeout=300) for opener in openers]
    replayed = [
        int(match)
        for _, err in outputs
        for match in re.findall(r"wrote (\d+) rows spooled by ended processes", err)
    ]
    stored = stored_run_ids(postgres_url, prefix)
    print(f"4 openers replayed {replayed} -> {len(stored)} rows, {len(returned)} returned")
    assert [opener.returncode for opener in openers] == [0] * 4
    assert list(Path(worker_env[SPOOL_DIR_ENV]).rglob("*.*")) == []  # every journal written
    assert sum(replayed) == 40  # each orphaned row replayed by exactly one opener
    assert sorted(stored) == sorted(returned)  # each once
    for worker in workers:  # and each process's calls in the order they returned
        assert [run_id for run_id in stored if run_id in set(worker)] == worker
