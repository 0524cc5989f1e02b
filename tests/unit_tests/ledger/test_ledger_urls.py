"""Ledger URLs the ledger cannot serve fail at once, with a ConfigError that says what to
use; URLs it can serve are shown (url, warnings, journal) without any credential."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.ledger import SQLLedger, open_ledger
from langchain_costrouter.testing import ScriptedChatModel
from tests.unit_tests.ledger.support import sample_rows

no_mysql_driver = pytest.mark.skipif(
    importlib.util.find_spec("MySQLdb") is not None, reason="the MySQL driver is installed"
)


@no_mysql_driver
def test_a_missing_driver_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as raised:
        open_ledger("mysql://u:hunter2@h/db?password=hunter2")
    message = str(raised.value)
    assert "the database driver MySQLdb is not installed (pip install 'mysqlclient')" in message
    assert "Use memory://, sqlite:///PATH or postgresql://" in message
    assert "hunter2" not in message


@no_mysql_driver
def test_the_router_reports_a_missing_driver_at_construction() -> None:
    with pytest.raises(ConfigError, match="MySQLdb is not installed"):
        RoutedChatModel(routes={"chat": [ScriptedChatModel()]}, ledger="mysql://u@h/db")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://"])
def test_in_memory_sqlite_is_refused(url: str) -> None:
    # Each connection would be a database of its own: the writer's has no tables.
    with pytest.raises(ConfigError) as raised:
        open_ledger(url)
    assert "in-memory SQLite" in str(raised.value)
    assert "Use memory:// for rows kept in memory, or sqlite:///PATH" in str(raised.value)


def test_the_router_refuses_in_memory_sqlite_at_construction() -> None:
    with pytest.raises(ConfigError, match="in-memory SQLite"):
        RoutedChatModel(routes={"chat": [ScriptedChatModel()]}, ledger="sqlite://")


def test_a_password_given_as_a_query_option_is_never_shown() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?password=hunter2&sslmode=disable"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ledger = SQLLedger(url)
        ledger.add(sample_rows())
        ledger.flush()  # the database is down: the rows wait in the journal
        journal = b"".join(path.read_bytes() for path in Path(ledger.spool_dir).iterdir())
        ledger.close()
    shutil.rmtree(ledger.spool_dir)
    assert ledger.url == "postgresql+psycopg://nobody@127.0.0.1:1/none?password=***&sslmode=disable"
    assert b"password=***" in journal and b"hunter2" not in journal
    shown = [str(w.message) for w in seen if issubclass(w.category, BackendUnavailableWarning)]
    assert shown and not any("hunter2" in message for message in shown)


def test_a_connection_option_postgres_does_not_take_is_a_config_error() -> None:
    # Not an outage: the rows would be spooled forever behind a "database is
    # unavailable" warning while the URL's typo is the only thing wrong.
    with pytest.raises(ConfigError) as raised:
        open_ledger("postgresql://nobody:hunter2@127.0.0.1:1/none?sslmod=disable")
    assert "sslmod" in str(raised.value) and "hunter2" not in str(raised.value)


def test_a_table_prefix_too_long_for_postgres_names_is_a_config_error() -> None:
    # "{prefix}ledger_run_attempt" past 63 characters: migrating failed with an
    # IdentifierError, which the ledger took for an outage and spooled every row behind.
    with pytest.raises(ConfigError) as raised:
        SQLLedger("postgresql://nobody@127.0.0.1:1/none", table_prefix="app_" + "x" * 46)
    assert "ledger_run_attempt" in str(raised.value) and "table_prefix" in str(raised.value)
