"""Many threads and several processes writing one ledger: every call recorded exactly once."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.ledger import open_ledger
from tests.integration_tests.ledger.workers import COST_PER_CALL_USD, make_calls, process_main
from tests.services import drop_tables

THREADS, PROCESSES, CALLS = 8, 4, 500


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A ledger URL and a table prefix no other test run uses; Postgres tables dropped after."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}", prefix
        return
    url = request.getfixturevalue("postgres_url")
    yield url, prefix
    drop_tables(url, prefix)


@pytest.mark.services
@pytest.mark.slow
def test_threads_and_processes_record_exactly_6000_rows(ledger_target: tuple[str, str]) -> None:
    url, prefix = ledger_target
    ledger = open_ledger(url, table_prefix=prefix)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
        processes = [
            pool.submit(process_main, url, prefix, CALLS, f"process-{i}") for i in range(PROCESSES)
        ]
        threads = [
            threading.Thread(target=make_calls, args=(ledger, CALLS, f"thread-{i}"))
            for i in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for process in processes:
            process.result()
    (totals,) = ledger.summary(by="all")
    by_task = {row.key: row.calls for row in ledger.summary(by="task")}
    ledger.close()
    assert totals.attempts == totals.calls == (THREADS + PROCESSES) * CALLS == 6000
    assert totals.cost_usd == 6000 * Decimal(COST_PER_CALL_USD)
    assert set(by_task.values()) == {CALLS}
    assert len(by_task) == THREADS + PROCESSES
