"""The stores a router opens from its fields, closed again when its construction fails.

`_parts.build_parts` opens the cache, the ledger, the budget store and the shadow
tables from the URLs in a router's fields, then builds what comes after them; a later
part can still refuse the configuration (a shadow task with no route, an unpriced
shadow model under budgets, a telemetry field of the wrong type). The router is then
never made and nothing else holds those stores: without `Opened` their connections,
SQLite files and the ledger's journal stayed open for the life of the process.

`Opened` remembers what the build opened and, when the build raises, closes it, the
last opened first (a store opened after another may lean on it: the shadow tables share
the ledger's database). A close that fails is warned about, never raised, so the error
the caller sees is the one that stopped the build. A store the caller passed in as an
object (a `Ledger`, a `ResponseCache`, a `BudgetStore`) is theirs: it is never closed.

A router that was built keeps its `Opened` (`_parts.RouterParts.opened`) and closes
it, the same way, when it is closed (`_lifecycle`); its copies share it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langchain_costrouter._secrets import redacted, url_passwords_masked
from langchain_costrouter.budgets import Budget, BudgetGate, Gate, NullBudgetGate, RateLimit
from langchain_costrouter.cache import as_response_cache
from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.ledger import Ledger, open_ledger
from langchain_costrouter.router._cache import CacheStage, NoCache, RouterCache


class Opened:
    """The stores one build opened, each with how to close it."""

    def __init__(self) -> None:
        self._stores: list[tuple[str, Callable[[], object]]] = []
        self._closing = threading.Lock()
        self.closed = False
        """Set by `close`: the router's calls are refused from then on."""

    def add(self, name: str, close: Callable[[], object]) -> None:
        """``name`` (e.g. "ledger") was opened by this build; ``close`` releases it."""
        self._stores.append((name, close))

    def take(self, other: Opened) -> None:
        """Close ``other``'s stores with these (a router's copy that opened one of its own)."""
        self._stores += other._stores
        other._stores = []

    def close(self) -> None:
        """Close every store once, for the router that opened them; a second caller
        waits until the first is done, then returns."""
        with self._closing:
            if not self.closed:
                self.closed = True
                self.close_all(whose="of a closed router")

    def close_all(self, whose: str = "opened for a router that could not be built") -> None:
        """Close every store, the last opened first; a failure is warned about."""
        while self._stores:
            name, close = self._stores.pop()
            try:
                close()
            except Exception as error:  # the build's own error matters more
                warnings.warn(
                    f"the {name} {whose} did not close ({type(error).__name__}: {error}); "
                    "its connections may stay open until the process ends",
                    BackendUnavailableWarning,
                    stacklevel=2,
                )


@contextmanager
def closed_on_failure() -> Iterator[Opened]:
    """An `Opened` for one build: closed and the error raised on when the build raises."""
    opened = Opened()
    try:
        yield opened
    except BaseException:
        opened.close_all()
        raise


def open_cache(spec: Any, namespace: str, opened: Opened) -> CacheStage:
    """None: no cache; a URL, a `ResponseCache` or a LangChain `BaseCache`."""
    if spec is None:
        return NoCache()
    with keyed("cache"):
        cache = RouterCache(as_response_cache(spec), namespace)
    if isinstance(spec, str):  # opened here from its URL; an object is the caller's
        opened.add("cache", cache.cache.close)
    return cache


def open_router_ledger(spec: Any, opened: Opened) -> Ledger | None:
    """None/False: no ledger; True: the embedded SQLite file; a URL or a `Ledger`."""
    if spec is None or spec is False:
        return None
    with keyed("ledger"):
        ledger = open_ledger(None if spec is True else spec)
    if not isinstance(spec, Ledger):
        opened.add("ledger", ledger.close)
    return ledger


def open_gate(
    budgets: list[Budget],
    store: Any,
    opened: Opened,
    *,
    rate_limits: dict[str, RateLimit],
    on_soft_limit: Any,
    on_store_error: Any,
    lease_seconds: float,
) -> Gate:
    """The gate of the shared budgets and rate limits; one that does nothing without them."""
    if not (budgets or rate_limits):
        return NullBudgetGate()
    with keyed("budget_store"):
        gate = BudgetGate(
            budgets,
            store,
            rate_limits=rate_limits,
            on_soft_limit=on_soft_limit,
            on_store_error=on_store_error,
            lease_seconds=lease_seconds,
        )
    if isinstance(store, str):
        opened.add("budget store", gate.close)
    return gate


@contextmanager
def keyed(field: str) -> Iterator[None]:
    """A store that cannot be opened is named by the router field that asked for it (the
    config file adds its own path and table: `RoutedChatModel.from_config`). A driver's
    own parse error (redis-py's or SQLAlchemy's ValueError on a malformed URL) is named
    the same way, its text with any URL password masked."""
    try:
        yield
    except ConfigError as error:
        if error.key is not None:
            raise
        raise ConfigError(error.reason, key=field) from None
    except ValueError as error:
        reason = redacted(url_passwords_masked(str(error)))
        raise ConfigError(f"{reason}; check the URL given as {field}=", key=field) from None
