"""The ledger on the real Postgres of this machine."""

from __future__ import annotations

import shutil
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import GROUP_BY, InMemoryLedger, SQLLedger, open_ledger
from tests.services import drop_tables
from tests.unit_tests.ledger.support import sample_rows
from tests.unit_tests.ledger.unpriced_support import PRICED_BASELINE, PRICED_COST, mixed_rows

pytestmark = pytest.mark.services


@pytest.fixture
def prefix(postgres_url: str) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}_"
    yield name
    drop_tables(postgres_url, name)


def bare(url: str) -> str:
    """The URL as a user writes it: postgresql:// without a driver."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_rows_and_summaries_match_the_in_memory_ledger(postgres_url: str, prefix: str) -> None:
    rows = [*sample_rows(), replace(sample_rows()[0], run_id="untasked", task=None)]
    memory = InMemoryLedger()
    memory.add(rows)
    with open_ledger(bare(postgres_url), table_prefix=prefix) as postgres:
        postgres.add(rows)
        postgres.add(rows[:2])  # recorded once
        assert postgres.rows() == rows
        for by in GROUP_BY:
            assert postgres.summary(by=by) == memory.summary(by=by)
        assert postgres.summary(since="2026-03-02") == memory.summary(since="2026-03-02")


def test_unpriced_calls_are_left_out_as_in_memory(postgres_url: str, prefix: str) -> None:
    memory = InMemoryLedger()
    memory.add(mixed_rows())
    with open_ledger(postgres_url, table_prefix=prefix) as postgres:
        postgres.add(mixed_rows())
        for by in GROUP_BY:
            assert postgres.summary(by=by) == memory.summary(by=by), by
        (total,) = postgres.summary(by="all")
        since = "2026-03-02"
        assert postgres.summary(by="all", since=since) == memory.summary(by="all", since=since)
    assert (total.cost_usd, total.baseline_cost_usd) == (PRICED_COST, PRICED_BASELINE)
    assert total.savings_usd == PRICED_BASELINE - PRICED_COST
    assert total.unpriced_calls == 3


def test_concurrent_first_opens_create_the_schema_once(postgres_url: str, prefix: str) -> None:
    def open_and_add(index: int) -> None:
        with open_ledger(postgres_url, table_prefix=prefix) as ledger:
            ledger.add([replace(sample_rows()[0], run_id=f"run-{index}")])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(open_and_add, range(8)))
    with open_ledger(postgres_url, table_prefix=prefix) as ledger:
        assert sorted(row.run_id for row in ledger.rows()) == [f"run-{i}" for i in range(8)]


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_text_the_database_cannot_hold_is_stored_replaced_and_blocks_nothing(
    database: str, postgres_url: str, prefix: str, tmp_path: Path
) -> None:
    # A NUL (which Postgres text refuses) or a lone surrogate (which UTF-8 cannot encode)
    # in a provider's model name or a judge's reason: the row failed every write, so it
    # and every row after it stayed in the spool for good (Postgres), or add() raised
    # out of the call that had been answered (the journal could not encode it).
    url = postgres_url if database == "postgres" else f"sqlite:///{tmp_path / 'ledger.db'}"
    first, second, *rest = sample_rows()
    odd = [
        replace(first, reason="judge: \x00 fine"),
        replace(second, model="gpt-4o-\ud800"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BackendUnavailableWarning)
        with open_ledger(url, table_prefix=prefix) as ledger:
            ledger.add(odd)
            ledger.add(rest)
            assert ledger.flush() == 0 and ledger.pending_rows() == 0
            stored = {(row.run_id, row.attempt): row for row in ledger.rows()}
    assert len(stored) == len(odd) + len(rest)
    nul = "\x00" if database == "sqlite" else "\ufffd"  # SQLite keeps a NUL as it is
    assert stored[first.run_id, first.attempt].reason == f"judge: {nul} fine"
    assert stored[second.run_id, second.attempt].model == "gpt-4o-\ufffd"


def test_an_unreachable_server_never_fails_the_caller() -> None:
    with pytest.warns(BackendUnavailableWarning, match="rows are spooled at"):
        ledger = SQLLedger("postgresql://nobody@127.0.0.1:1/none")
    ledger.add(sample_rows())  # must not raise
    with pytest.warns(BackendUnavailableWarning, match="5 rows wait in the spool"):
        pending = ledger.flush()
    assert pending == 5
    with pytest.warns(
        BackendUnavailableWarning, match="next process that opens this ledger writes them"
    ):
        ledger.close()
    shutil.rmtree(ledger.spool_dir)


def test_report_on_a_database_that_does_not_answer_is_one_line(
    postgres_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from langchain_costrouter.cli import main
    from langchain_costrouter.ledger.spool import SPOOL_DIR_ENV

    missing = postgres_url.rsplit("/", 1)[0] + f"/costrouter_absent_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SPOOL_DIR_ENV, str(tmp_path))
        assert main(["report", "--ledger", missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costrouter: error: cannot read the ledger at ") and err.count("\n") == 1
    assert "Traceback" not in err
