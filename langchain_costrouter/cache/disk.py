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

Four speed decisions, because every cache miss of the router reads and writes here: a
lookup of a key the directory surely lacks returns without asking SQLite (`presence`,
which keeps the event loop from giving up the GIL on every miss); entries are
committed by a background thread, many per transaction (`write_behind`; this process
reads them back at once); coalescing locks are byte-range locks on a file beside the
database (`file_locks`), not database rows; and the size limit is enforced every
few hundred writes instead of inside each write transaction as diskcache does. All of
it is shared by the backends of one directory in a process (`disk_store`). The
semantic layer's lists, a row per value, are `DiskLists` (`cache/_disk_lists.py`).
"""

from __future__ import annotations

import functools
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import diskcache
import platformdirs

from langchain_costrouter._fork import ForkGate, hold_across_fork
from langchain_costrouter.cache._disk_lists import STORE_ERRORS, DiskLists
from langchain_costrouter.cache.backends import LocalBackend
from langchain_costrouter.cache.codec import CacheDecodeError
from langchain_costrouter.cache.disk_store import store_for
from langchain_costrouter.errors import BackendUnavailableWarning

INLINE_BYTES = 2**30
"""Values up to this size live in the database itself, not in files beside it.

diskcache writes a value of 32 KiB or more to a file of its own, in subdirectories it
creates with the process's umask (0644 files, 0755 directories): a long answer would
be the one entry readable outside the owner-only database. SQLite keeps blobs of any
size an answer reaches; past this one (its own limit is about a gigabyte) a write
fails, which for a cache is a warned miss."""


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


class DiskBackend(DiskLists, LocalBackend):
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
        settings = {
            "size_limit": size_limit,
            "timeout": timeout,
            "disk_min_file_size": INLINE_BYTES,
        }
        self._store = store_for(self.directory, settings, JsonOnlyDisk)
        self._behind = self._store.writer
        # Deletes, appends and clears write on the caller's thread: a fork waits for them.
        self._fork_gate = ForkGate()
        hold_across_fork(self, "_fork_gate")

    def get(self, key: str) -> bytes | None:
        """Return the stored bytes (or the bytes about to be stored), or None."""
        if (pending := self._behind.read(key)) is not None:
            return pending
        try:  # not `_errors()`: a generator-based context manager costs more than a miss
            cache = self._open()
            if not self._store.may_hold(key):  # a sure miss, told without a system call
                return None
            value = cache.get(key)
        except STORE_ERRORS as error:
            raise self._failure(error) from error
        return value.encode() if isinstance(value, str) else value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store the value with diskcache's own expiry (committed in the background)."""
        if len(value) >= INLINE_BYTES:  # never in practice: an answer is a few hundred KB
            warnings.warn(
                f"An answer of {len(value):,} bytes was not cached: the disk cache keeps "
                f"values below {INLINE_BYTES:,} bytes.",
                BackendUnavailableWarning,
                stacklevel=4,
            )
            return
        self._behind.write(key, value, ttl)

    def delete(self, key: str) -> None:
        """Remove one entry."""
        self._behind.flush()
        with self._errors() as cache, self._fork_gate.entered():
            cache.delete(key)

    def clear(self) -> None:
        """Remove every entry of the directory, and the search indexes derived from them."""
        self._behind.flush()
        with self._errors() as cache, self._fork_gate.entered():
            cache.clear()
        shutil.rmtree(self.index_directory(), ignore_errors=True)

    def index_directory(self) -> Path:
        """``semantic-index`` inside the cache directory (owner-only like it)."""
        return self.directory / "semantic-index"

    def flush(self) -> None:
        """Commit the entries still being written (done by itself within some 20 ms)."""
        self._behind.flush()

    def try_lock(self, name: str, ttl: float, token: str) -> bool:
        """Take the lock of ``name`` unless another process holds it.

        A file range lock where the platform has them (a dead holder's lock vanishes
        with it); elsewhere a database row, which diskcache ``add`` creates atomically
        and which expires after ``ttl`` seconds.
        """
        try:
            cache = self._open()
            if (locks := self._store.locks) is not None:
                return locks.try_lock(name)
            return bool(cache.add(f"lock:{name}", token, expire=ttl))
        except STORE_ERRORS as error:
            raise self._failure(error) from error

    def unlock(self, name: str, token: str) -> None:
        """Release the lock, if this caller still holds it."""
        locks = self._store.locks  # set by `try_lock`, which opened the store
        if locks is not None:
            # Only once the leader's answer is committed: a follower elsewhere that sees
            # the lock go reads the cache next.
            self._behind.after_commit(functools.partial(locks.unlock, name))
            return
        self._behind.flush()
        with self._errors() as cache, self._fork_gate.entered(), cache.transact():
            if cache.get(f"lock:{name}") == token:
                cache.delete(f"lock:{name}")

    def is_locked(self, name: str) -> bool:
        """Whether another caller holds the lock of ``name``."""
        with self._errors() as cache:
            if (locks := self._store.locks) is not None:
                return locks.is_locked(name)
            return f"lock:{name}" in cache

    def close(self) -> None:
        """Commit what is pending and close this thread's connection to the database.

        Other backends of the same directory in this process keep working (the store
        reopens on use); the lock file stays open, so locks held elsewhere stay held.
        """
        self._store.close()
