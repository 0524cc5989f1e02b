"""The ledger ``costrouter report`` reads: one that exists, never one made by reading.

Opening a SQL ledger creates its tables (the router's writer needs them). A report only
reads, so before it opens one it checks that the database holds the ledger's table:
pointed at the wrong database (another app's SQLite file, a typo in a Postgres database
name, a ledger written under another ``table_prefix``) it says so, instead of creating
empty ledger tables there and reporting $0 of spend. A database that is down, or one
whose ledger rows still wait in the spool to be written, is opened as before: the report
then says the database is down, or writes those rows first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger import MEMORY_URL, Ledger, open_ledger
from langchain_costrouter.ledger import spool as spooled
from langchain_costrouter.ledger.engine import create_ledger_engine, sqlite_path


def open_report_ledger(url: str, table_prefix: str) -> Ledger:
    """The ledger at ``url``; a ConfigError when there is none there to read."""
    with _url_errors(url):
        path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(f"no ledger at {path}; pass --ledger sqlite:///PATH of an existing one")
    if url != MEMORY_URL:
        _check_has_ledger(url, table_prefix)
    return open_ledger(url, table_prefix=table_prefix)


def _check_has_ledger(url: str, table_prefix: str) -> None:
    table = f"{table_prefix}ledger"
    with _url_errors(url):
        engine = create_ledger_engine(url)
    shown = shown_url(engine.url.render_as_string(hide_password=True))
    try:
        with engine.connect() as conn:
            if sa.inspect(conn).has_table(table):
                return
    except SQLAlchemyError:
        return  # down, or not a database: reading it says which
    finally:
        engine.dispose()
    if spooled.pending_rows(spooled.spool_dir(shown, table_prefix)):
        return  # its rows wait to be written (the tables with them): opening writes them
    raise ConfigError(
        f"no ledger in {shown}: it has no table {table}; pass --ledger of the database "
        "the router writes to, and --table-prefix when its ledger was opened with one"
    )


@contextmanager
def _url_errors(url: str) -> Iterator[None]:
    """SQLAlchemy's ValueError on a URL it cannot parse (a port such as ``${PGPORT}``)
    as a ConfigError naming --ledger, the URL's password masked."""
    try:
        yield
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(
            f"cannot read the ledger URL {shown_url(url)!r} ({error}); check --ledger"
        ) from None
