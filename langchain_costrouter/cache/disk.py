"""diskcache backend: the embedded default, shared by every process of one machine.

Two hardening decisions over plain ``diskcache.Cache``:

* diskcache pickles any value that is not bytes/str/number, and unpickles any row
  marked as pickled when read. `JsonOnlyDisk` refuses both directions, so a
  tampered or foreign database can never run code through this cache.
* Cached prompts and answers are private data: a directory this backend creates is
  mode 0700 and a database file it creates is 0600 (SQLite gives its WAL and
  shared-memory files the database file's mode).

The database opens lazily, so a corrupt or unreadable directory turns into a miss
with a warning on first use rather than an exception in the constructor.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diskcache
import platformdirs

from langchain_costrouter.cache.backends import CacheBackendError, LocalBackend
from langchain_costrouter.cache.codec import CacheDecodeError

_DB_FILE = "cache.db"


def default_cache_dir() -> Path:
    """The per-user default: ``<user data dir>/langchain-costrouter/cache``."""
    return Path(platformdirs.user_data_dir("langchain-costrouter")) / "cache"


class JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """A diskcache serializer that stores bytes/str only and never unpickles."""

    def put(self, key: Any) -> tuple[Any, bool]:
        """Accept str keys only (raw storage)."""
        if not isinstance(key, str):
            raise TypeError(f"cache keys must be str, got {type(key).__qualname__}")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        """Return raw keys; a pickled key means a foreign database."""
        if not raw:
            raise CacheDecodeError("database holds a pickled key; refusing to unpickle it")
        return key

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        """Accept bytes and str only, so nothing is ever pickled."""
        if read or not isinstance(value, bytes | str):
            raise TypeError(f"cache values must be bytes or str, got {type(value).__qualname__}")
        return super().store(value, read, key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        """Read raw, binary and text rows; refuse pickled rows."""
        if mode == diskcache.core.MODE_PICKLE:
            raise CacheDecodeError("entry is pickled; refusing to unpickle it")
        return super().fetch(mode, filename, value, read)


class DiskBackend(LocalBackend):
    """Answers in a SQLite-backed diskcache directory, shared by local processes.

    Args:
        directory: where the cache lives; default `default_cache_dir()`.
        size_limit: bytes before diskcache evicts the least recently stored entries.
        timeout: seconds SQLite waits for a busy database before giving up (a miss).
    """

    shared = True

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        size_limit: int = 2**30,
        timeout: float = 2.0,
    ) -> None:
        """Remember the settings; the database opens on first use."""
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self._settings = {"size_limit": size_limit, "timeout": timeout}
        self._cache: diskcache.Cache | None = None

    def get(self, key: str) -> bytes | None:
        """Return the stored bytes, or None."""
        with self._errors() as cache:
            value = cache.get(key)
        return value.encode() if isinstance(value, str) else value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store the value with diskcache's own expiry."""
        with self._errors() as cache:
            cache.set(key, value, expire=ttl)

    def delete(self, key: str) -> None:
        """Remove one entry."""
        with self._errors() as cache:
            cache.delete(key)

    def clear(self) -> None:
        """Remove every entry of the directory, and the search indexes derived from them."""
        with self._errors() as cache:
            cache.clear()
        shutil.rmtree(self.index_directory(), ignore_errors=True)

    def index_directory(self) -> Path:
        """``semantic-index`` inside the cache directory (owner-only like it)."""
        return self.directory / "semantic-index"

    def append(self, key: str, value: bytes) -> None:
        """Store the value at the list's next position, atomically across processes.

        One row per value (and one for the count), so appending and reading what is
        new cost one value's I/O, not the whole list's. Eviction may remove a value;
        readers skip the gap.
        """
        with self._errors() as cache, cache.transact():
            length = _count(cache.get(_length_key(key)))
            cache.set(_item_key(key, length), value)
            cache.set(_length_key(key), str(length + 1))

    def list_length(self, key: str) -> int:
        """Values ever appended under ``key``."""
        with self._errors() as cache:
            return _count(cache.get(_length_key(key)))

    def read_list(self, key: str, start: int = 0) -> list[bytes]:
        """The values at positions ``start`` and after (evicted ones skipped)."""
        with self._errors() as cache:
            length = _count(cache.get(_length_key(key)))
            values = [cache.get(_item_key(key, i)) for i in range(start, length)]
        return [v.encode() if isinstance(v, str) else v for v in values if v is not None]

    def try_lock(self, name: str, ttl: float, token: str) -> bool:
        """diskcache ``add`` is atomic across processes: only one caller adds the key."""
        with self._errors() as cache:
            return bool(cache.add(f"lock:{name}", token, expire=ttl))

    def unlock(self, name: str, token: str) -> None:
        """Delete the lock only if this token still holds it."""
        with self._errors() as cache, cache.transact():
            if cache.get(f"lock:{name}") == token:
                cache.delete(f"lock:{name}")

    def is_locked(self, name: str) -> bool:
        """Whether an unexpired lock exists."""
        with self._errors() as cache:
            return f"lock:{name}" in cache

    def close(self) -> None:
        """Close the database connection."""
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    @contextmanager
    def _errors(self) -> Iterator[diskcache.Cache]:
        """Yield the open cache; turn store failures into `CacheBackendError`."""
        try:
            yield self._open()
        except (sqlite3.Error, OSError, diskcache.Timeout) as error:
            raise CacheBackendError(f"diskcache at {self.directory} failed: {error}") from error

    def _open(self) -> diskcache.Cache:
        if self._cache is None:
            self._cache = self._create()
        return self._cache

    def _create(self) -> diskcache.Cache:
        # exist_ok: several processes may open a new shared directory at the same time.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        cache = diskcache.Cache(str(self.directory), disk=JsonOnlyDisk, **self._settings)
        # diskcache's setup has written, so SQLite's -wal and -shm files exist now; make
        # them owner-only like the database (the 0700 directory already shuts others out).
        for name in (_DB_FILE, f"{_DB_FILE}-wal", f"{_DB_FILE}-shm"):
            _make_private(self.directory / name)
        return cache


def _make_private(path: Path) -> None:
    """chmod 600 a file of ours; SQLite may remove -wal/-shm at any moment, which is fine."""
    try:
        if path.stat().st_uid == os.getuid():
            path.chmod(0o600)
    except FileNotFoundError:
        return


def _length_key(key: str) -> str:
    return f"{key}#length"


def _item_key(key: str, position: int) -> str:
    return f"{key}#{position}"


def _count(stored: Any) -> int:
    """A stored list length (a str row; absent means empty)."""
    return int(stored) if stored is not None else 0
