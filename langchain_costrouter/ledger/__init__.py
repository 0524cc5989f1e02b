"""The cost ledger: one row per provider attempt and per cache hit (docs/architecture.md 2.2).

``open_ledger(url)`` picks the store from the URL:

- ``memory://``: `InMemoryLedger`, rows in a list (tests, notebooks);
- ``sqlite:///PATH``: `SQLLedger` on a SQLite file (the default, in the user data dir);
- ``postgresql://...``: `SQLLedger` on Postgres (psycopg 3), for many app replicas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_costrouter._lazy import lazy_exports
from langchain_costrouter.ledger.base import Ledger
from langchain_costrouter.ledger.call_rows import rows_from_costrouter
from langchain_costrouter.ledger.memory import InMemoryLedger
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.summary import GROUP_BY, GroupBy, Summary, SummaryRow

# The SQL side loads on first use (PEP 562): SQLAlchemy takes tenths of a second to
# import, and a router with a memory ledger, or none, never needs it.
if TYPE_CHECKING:
    from langchain_costrouter.ledger.engine import default_ledger_path, default_ledger_url
    from langchain_costrouter.ledger.sql import SQLLedger
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "langchain_costrouter.ledger.engine": ("default_ledger_path", "default_ledger_url"),
            "langchain_costrouter.ledger.sql": ("SQLLedger",),
        },
    )

MEMORY_URL = "memory://"

__all__ = [
    "GROUP_BY",
    "MEMORY_URL",
    "GroupBy",
    "InMemoryLedger",
    "Ledger",
    "LedgerRow",
    "SQLLedger",
    "Summary",
    "SummaryRow",
    "default_ledger_path",
    "default_ledger_url",
    "open_ledger",
    "rows_from_costrouter",
]


def open_ledger(url: str | Ledger | None = None, *, table_prefix: str | None = None) -> Ledger:
    """Open the ledger at ``url`` (None: the default SQLite file); a `Ledger` passes through.

    Args:
        url: ``memory://``, ``sqlite:///PATH`` or a Postgres/SQLAlchemy URL.
        table_prefix: Prefix of the SQL tables, so several apps can share a database
            (None: ``costrouter_``, the schema's `DEFAULT_TABLE_PREFIX`).
    """
    if isinstance(url, Ledger):
        return url
    if url == MEMORY_URL:
        return InMemoryLedger()
    from langchain_costrouter.ledger.engine import default_ledger_url
    from langchain_costrouter.ledger.schema import DEFAULT_TABLE_PREFIX
    from langchain_costrouter.ledger.sql import SQLLedger

    prefix = DEFAULT_TABLE_PREFIX if table_prefix is None else table_prefix
    return SQLLedger(url or default_ledger_url(), table_prefix=prefix)
