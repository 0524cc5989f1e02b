"""``calibrate --from-ledger`` and ``drift`` on a Postgres database they cannot read."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from langchain_costrouter.cli import main


def test_a_database_that_cannot_be_reached_is_a_one_line_error(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Postgres database that does not exist ended calibrate with a SQLAlchemy traceback."""
    parts = sa.make_url(postgres_url).set(password="s3cret", database="costrouter_no_such_db")
    url = parts.render_as_string(hide_password=False).replace("+psycopg", "")
    assert main(["calibrate", "--from-ledger", url, "--task", "math"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costrouter: error: --from-ledger: cannot read the database")
    assert "costrouter_no_such_db" in err and "check that the database is up" in err
    assert "s3cret" not in err and "Traceback" not in err


def test_drift_on_a_database_that_cannot_be_reached_is_a_one_line_error(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same database ended ``costrouter drift`` with a SQLAlchemy traceback."""
    parts = sa.make_url(postgres_url).set(password="s3cret", database="costrouter_no_such_db")
    url = parts.render_as_string(hide_password=False).replace("+psycopg", "")
    assert main(["drift", "--ledger", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("costrouter: error: --ledger: cannot read the database")
    assert "costrouter_no_such_db" in err and "check that the database is up" in err
    assert "s3cret" not in err and "Traceback" not in err
