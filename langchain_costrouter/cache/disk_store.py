"""One diskcache directory as this process sees it, shared by every `DiskBackend` on it.

Two routers of one process configured with the same ``diskcache://`` URL must behave as
one cache: an answer one stores is read back by the other at once (the write-behind
queue's pending writes are per directory, not per backend object), and their coalescing
locks exclude each other (one lock table per directory). So the process keeps one
`DirectoryStore` per directory, alive while any backend uses it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import diskcache

from langchain_costrouter._private_files import make_private_dir
from langchain_costrouter._statements import multi_row, power_of_two_chunks
from langchain_costrouter.cache import file_locks
from langchain_costrouter.cache.backends import CacheBackendError
from langchain_costrouter.cache.codec import CacheDecodeError
from langchain_costrouter.cache.presence import PresenceMap
from langchain_costrouter.cache.write_behind import Write, WriteBehind

DB_FILE = "cache.db"
LOCK_FILE = "locks"
PRESENCE_FILE = "presence"
CULL_EVERY = 256
"""Writes between two enforcements of the size limit (expired entries go then too)."""

_UPSERT_ROW = "(?, 1, ?, ?, ?, 0, NULL, 0, 1, NULL, ?)"
_UPSERT_HEAD = (
    "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, access_count,"
    " tag, size, mode, filename, value) VALUES "
)
_UPSERT_TAIL = (
    " ON CONFLICT(key, raw) DO UPDATE SET store_time = excluded.store_time,"
    " expire_time = excluded.expire_time, access_time = excluded.access_time,"
    " access_count = 0, tag = NULL, size = 0, mode = 1, value = excluded.value"
    " WHERE filename IS NULL"
)
"""Entries, many in one statement: the row ``Cache.set`` writes for bytes below
``min_file_size``, which every value is (`disk.INLINE_BYTES`): raw str key, ``MODE_RAW``
= 1, size 0; diskcache's triggers keep its count and size. ``Cache.set`` runs a SELECT,
then an INSERT or UPDATE, per entry, and every SQLite step lets go of the GIL, which
the writer thread then has to win back from the threads serving calls: with 64 calls in
flight on threads, a commit of 60 entries took 180 ms and twice its CPU time alone. One
statement is one step: 7 us per entry against 13 in batches of twenty, and three GIL
hand-overs per commit."""
UPSERT_ROWS = 128
"""Entries of the largest statement (five parameters each: far below SQLite's limit);
smaller batches go in powers of two, so few statement texts are prepared (`_statements`)."""

_STORES: weakref.WeakValueDictionary[Path, DirectoryStore] = weakref.WeakValueDictionary()
_STORES_LOCK = threading.Lock()


def store_for(directory: Path, settings: dict[str, Any], disk: type) -> DirectoryStore:
    """The process's store of ``directory`` (the first opener's settings win)."""
    key = directory.expanduser().absolute()
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = DirectoryStore(key, settings, disk)
        return store


class DirectoryStore:
    """The open database, write-behind queue, lock table and presence map of one directory.

    Freed with the last backend using it, which frees its connections and its writer
    thread: the writer commits to the `_Database` part, never to the store, so neither
    the writer's exit finalizers nor its thread keep the store (and its entry in
    `_STORES`) alive. The store's own finalizer commits what is still queued and stops
    the thread when it is collected.
    """

    def __init__(self, directory: Path, settings: dict[str, Any], disk: type) -> None:
        """Remember where and how to open; nothing is opened yet."""
        self.directory = directory
        self._database = _Database(directory, settings, disk)
        self.writer = WriteBehind(self._database.commit)
        weakref.finalize(self, self.writer.close).atexit = False  # the writer's own hook

    @property
    def locks(self) -> file_locks.RangeLocks | None:
        """The directory's lock table (None before the database is open, or no flock)."""
        return self._database.locks

    @property
    def presence(self) -> PresenceMap | None:
        """The directory's presence map (None before the database is open, or unusable)."""
        return self._database.presence

    def cache(self) -> diskcache.Cache:
        """The open database (opened, and the directory created, on first use)."""
        return self._database.cache()

    def may_hold(self, key: str) -> bool:
        """False when the database surely has no entry for ``key`` (see `presence`)."""
        presence = self._database.presence
        return presence is None or presence.may_hold(key)

    def close(self) -> None:
        """Commit pending writes, end the writer thread and close this thread's connection
        (each started or reopened again on use)."""
        self.writer.stop_thread()
        self._database.close()


class _Database:
    """The directory's diskcache, opened on first use, and the commit of queued writes.

    Apart from `DirectoryStore` because the write-behind queue's finalizers hold its
    commit until the process exits: holding the store there would keep it for ever.
    """

    def __init__(self, directory: Path, settings: dict[str, Any], disk: type) -> None:
        self.directory = directory
        self._settings = {**settings, "cull_limit": 0}  # culled every CULL_EVERY writes
        self._disk = disk
        self._cache: diskcache.Cache | None = None
        self._opening = threading.Lock()
        self.locks: file_locks.RangeLocks | None = None
        self.presence: PresenceMap | None = None
        self._writes = 0

    def cache(self) -> diskcache.Cache:
        if self._cache is None:
            with self._opening:  # the writer thread may get here at the same time
                if self._cache is None:
                    self._cache = self._create()
        return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    def commit(self, writes: list[Write]) -> None:
        """Store ``writes`` in one transaction (the writer's `Commit`)."""
        try:
            self._commit_now(writes)
        except (sqlite3.Error, OSError, diskcache.Timeout) as error:
            raise CacheBackendError(f"diskcache at {self.directory} failed: {error}") from error

    def _commit_now(self, writes: list[Write]) -> None:
        cache = self.cache()
        if (presence := self.presence) is not None:
            for write in writes:  # before the commit: a committed entry is never skipped
                presence.add(write.key)
        now = time.time()
        latest = {write.key: write for write in writes}.values()  # a key written twice: the last
        live = [w for w in latest if w.expires_at is None or w.expires_at > now]
        with cache.transact():
            rows = [(w.key, now, w.expires_at, now, sqlite3.Binary(w.value)) for w in live]
            stored = _upsert(cache, rows)
            # Rarely, a key whose old value is a file (written before values were kept
            # inline): the upsert left it, diskcache replaces it and removes the file.
            for write in live if stored != len(live) else ():
                expire = None if write.expires_at is None else write.expires_at - now
                cache.set(write.key, write.value, expire=expire)
        self._writes += len(writes)
        if self._writes >= CULL_EVERY:
            self._writes = 0
            cache.cull()

    def _create(self) -> diskcache.Cache:
        # Several processes may open a new shared directory at the same time: that is fine.
        make_private_dir(self.directory)
        cache = diskcache.Cache(str(self.directory), disk=self._disk, **self._settings)
        # diskcache's setup has written, so SQLite's -wal and -shm files exist now; make
        # them owner-only like the database (the 0700 directory already shuts others out).
        for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"):
            _make_private(self.directory / name)
        if file_locks.AVAILABLE:
            self.locks = file_locks.RangeLocks(self.directory / LOCK_FILE)
        self.presence = _presence_map(self.directory / PRESENCE_FILE, cache)
        return cache


def _upsert(cache: diskcache.Cache, rows: list[tuple[Any, ...]]) -> int:
    """Store ``rows``, one upsert per chunk; return how many were stored (not a file-backed key)."""
    stored = 0
    for chunk in power_of_two_chunks(rows, UPSERT_ROWS):
        statement = multi_row(_UPSERT_HEAD, _UPSERT_ROW, len(chunk), _UPSERT_TAIL)
        parameters = [value for row in chunk for value in row]
        # `_con`: this thread's connection, inside the transaction diskcache opened
        # (its schema and this attribute are diskcache 5's; pyproject pins below 6).
        stored += cache._con.execute(statement, parameters).rowcount
    return stored


def _presence_map(path: Path, cache: diskcache.Cache) -> PresenceMap | None:
    """The directory's presence map, filled from the database if new; None if unusable."""
    try:
        presence = PresenceMap(path)
    except (OSError, ValueError):  # no mmap here (odd filesystems): every read asks SQLite
        return None
    if not presence.ready:  # left unready if the keys cannot be read: reads ask SQLite
        with contextlib.suppress(sqlite3.Error, CacheDecodeError):
            presence.fill(cache.iterkeys())
    return presence


def _make_private(path: Path) -> None:
    """chmod 600 a file of ours; SQLite may remove -wal/-shm at any moment, which is fine."""
    try:
        if not hasattr(os, "getuid") or path.stat().st_uid == os.getuid():  # Windows: none
            path.chmod(0o600)
    except FileNotFoundError:
        return
