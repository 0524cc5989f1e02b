"""Turn a failing store into misses: one warning per outage, then a short pause.

diskcache's rule, applied to every backend: the cache is an optimisation, so its
failure must never fail the call. When an operation raises `CacheBackendError`
the guard warns once (`BackendUnavailableWarning`), and skips the backend for
``retry_after`` seconds, so a dead Redis costs one connect timeout per pause
instead of one per call and does not flood the logs.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from langchain_costrouter.cache.backends import CacheBackend, CacheBackendError
from langchain_costrouter.cache.codec import CacheDecodeError
from langchain_costrouter.errors import BackendUnavailableWarning

T = TypeVar("T")


class BackendGuard:
    """Runs backend operations; failures become None plus one warning per outage."""

    def __init__(self, backend: CacheBackend, *, retry_after: float = 5.0) -> None:
        """Guard ``backend``; after a failure skip it for ``retry_after`` seconds."""
        self.backend = backend
        self.retry_after = retry_after
        self._down_until = 0.0
        self._lock = threading.Lock()

    def available(self) -> bool:
        """False while the backend is paused after a failure."""
        return time.monotonic() >= self._down_until

    def run(self, action: str, operation: Callable[..., T], *args: Any) -> T | None:
        """Run ``operation(*args)``; None if the backend is paused or fails."""
        if not self.available():
            return None
        try:
            return operation(*args)
        except CacheBackendError as error:
            self._failed(action, error)
            return None

    async def arun(self, action: str, operation: Callable[[], Awaitable[T]]) -> T | None:
        """Async `run`."""
        if not self.available():
            return None
        try:
            return await operation()
        except CacheBackendError as error:
            self._failed(action, error)
            return None

    def corrupt_entry(self, key: str, error: CacheDecodeError) -> None:
        """Warn about an undecodable entry and delete it, so it warns only once."""
        warnings.warn(
            f"Cache entry {key} could not be decoded ({error}); treated as a miss and removed.",
            BackendUnavailableWarning,
            stacklevel=4,
        )
        self.run("deleting a corrupt entry", lambda: self.backend.delete(key))

    def _failed(self, action: str, error: CacheBackendError) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.retry_after
        warnings.warn(
            f"Cache backend {type(self.backend).__name__} failed while {action}: {error}. "
            f"The call goes on without the cache; retrying the backend in {self.retry_after:g}s.",
            BackendUnavailableWarning,
            stacklevel=4,
        )
