"""Budget store URLs: one string in a config file or a ``budget_store=`` argument picks a store.

``memory://`` (one process, the default), ``sqlite:///PATH`` (processes of one
machine), ``redis://HOST:PORT/DB`` or ``rediss://`` (many machines), and
``postgresql+psycopg://USER@HOST/DB`` (also ``postgresql://``, many machines). Every
shared store takes ``?prefix=...``: the key prefix in Redis, the table prefix in SQL;
Postgres takes ``?durable=true`` to flush every commit to disk before it returns.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.budgets.memory_store import MemoryStore
from langchain_costrouter.budgets.store import BudgetStore
from langchain_costrouter.errors import ConfigError

SCHEMES = ("memory", "sqlite", "redis", "rediss", "postgresql", "postgresql+psycopg", "postgres")


def open_store(url: str) -> BudgetStore:
    """The store a URL names.

    Raises:
        ConfigError: an unknown scheme or option (the message lists the known ones).
    """
    if not isinstance(url, str):
        raise ConfigError(f"expected a store URL string, got {url!r}", key="budget_store")
    try:
        parts = urlsplit(url)
    except ValueError as error:  # "Invalid IPv6 URL": a bracket left open
        raise ConfigError(
            f"budget store {shown_url(url)!r} is not a valid URL ({error})", key="budget_store"
        ) from None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    prefix = query.pop("prefix", None)
    scheme = parts.scheme
    if scheme == "memory":
        if query or prefix is not None or parts.netloc or parts.path:
            raise ConfigError(
                f"memory:// takes no path or options, got {shown_url(url)!r}", key="budget_store"
            )
        return MemoryStore()
    if scheme in ("redis", "rediss"):
        # Imported here: redis is an optional dependency (the [redis] extra).
        from langchain_costrouter.budgets.redis_store import DEFAULT_PREFIX, RedisStore

        return RedisStore(_rest(url, query), prefix=DEFAULT_PREFIX if prefix is None else prefix)
    if scheme in ("sqlite", "postgresql", "postgresql+psycopg", "postgres"):
        # Imported here: SQLAlchemy takes tenths of a second to import, and most routers
        # keep their budgets in memory.
        from langchain_costrouter.budgets.sql_schema import DEFAULT_TABLE_PREFIX
        from langchain_costrouter.budgets.sql_store import SQLStore

        durable = _flag(query.pop("durable", "false"), url)
        table_prefix = DEFAULT_TABLE_PREFIX if prefix is None else prefix
        return SQLStore(_rest(url, query), prefix=table_prefix, durable=durable)
    raise ConfigError(
        f"unknown budget store URL scheme in {shown_url(url)!r}; use one of {', '.join(SCHEMES)}",
        key="budget_store",
    )


def _rest(url: str, query: dict[str, str]) -> str:
    """The URL with the options this module read removed (the rest go to the driver)."""
    base = url.split("?", 1)[0]  # not urlunsplit: it turns sqlite:// into sqlite:
    return f"{base}?{urlencode(query)}" if query else base


def _flag(text: str, url: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise ConfigError(
        f"option durable={text!r} in {shown_url(url)!r} must be true or false", key="budget_store"
    )
