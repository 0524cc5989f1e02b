"""Where a backend's semantic bases live: files beside a shared store, or process memory.

A base is derived data: it can always be rebuilt from the backend's lists, so it is
kept where it is cheapest to share. For diskcache and Redis that is a directory of
this machine (`CacheBackend.index_directory`, owner-only), so a new process maps the
files instead of parsing the partitions; for an in-process store (memory://, or a
backend with no directory) it is a dictionary shared by every cache on that backend.

Only one process of the machine merges a given partition at a time (`claim`, a range
lock of one file per directory, `file_locks`); the others keep serving and adopt its
file when it is written. A forked child starts with no claim: the claims its parent's
merges held in memory are of threads the child does not have.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from langchain_costrouter._private_files import make_private_dir
from langchain_costrouter.cache._snapshot_format import OutdatedSnapshotError, SnapshotError
from langchain_costrouter.cache.backends import CacheBackend
from langchain_costrouter.cache.file_locks import AVAILABLE as RANGE_LOCKS
from langchain_costrouter.cache.file_locks import RangeLocks
from langchain_costrouter.cache.semantic_base import Base, Merged
from langchain_costrouter.cache.semantic_snapshot import read_snapshot, write_snapshot
from langchain_costrouter.errors import BackendUnavailableWarning


class IndexHome(ABC):
    """Stores the current `Base` of each partition of one backend."""

    def __init__(self) -> None:
        self._merging: set[str] = set()
        self._lock = threading.Lock()

    def forget_parent(self) -> None:
        """In a forked child: the parent's merges are not running here."""
        self._merging = set()
        self._lock = threading.Lock()

    @abstractmethod
    def load(self, partition: str) -> Base | None:
        """The stored base, or None (none yet, or unusable: then it is removed)."""

    @abstractmethod
    def save(self, partition: str, merged: Merged) -> Base:
        """Store ``merged`` as the partition's base and return it ready to search."""

    @abstractmethod
    def discard(self, partition: str) -> None:
        """Forget the base (its partition was cleared or replaced in the backend)."""

    @contextlib.contextmanager
    def claim(self, partition: str) -> Iterator[bool]:
        """Yield True to the one caller (per home) that may merge ``partition`` now."""
        with self._lock:
            taken = partition in self._merging
            self._merging.add(partition)
        try:
            yield not taken
        finally:
            if not taken:
                with self._lock:
                    self._merging.discard(partition)


class ProcessHome(IndexHome):
    """Bases in this process's memory, shared by the caches on one backend object."""

    def __init__(self) -> None:
        super().__init__()
        self._bases: dict[str, Base] = {}

    def load(self, partition: str) -> Base | None:
        return self._bases.get(partition)

    def save(self, partition: str, merged: Merged) -> Base:
        base = merged.in_memory()
        self._bases[partition] = base
        return base

    def discard(self, partition: str) -> None:
        self._bases.pop(partition, None)


class DirectoryHome(IndexHome):
    """One snapshot file per partition in an owner-only directory of this machine."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self._mapped: dict[str, tuple[tuple[int, int, int], Base]] = {}
        self._locks: RangeLocks | None = None

    def path(self, partition: str) -> Path:
        return self.directory / f"{partition.replace(':', '-')}.base"

    def load(self, partition: str) -> Base | None:
        """The file's base; mapped once per version of the file (inode, time, size)."""
        path = self.path(partition)
        try:
            stat = path.stat()
            version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            known = self._mapped.get(partition)
            if known is not None and known[0] == version:
                return known[1]
            base = read_snapshot(path, partition)
        except FileNotFoundError:
            return None
        except OutdatedSnapshotError:  # an older release's: replaced, nothing to report
            self.discard(partition)
            return None
        except (SnapshotError, OSError) as error:
            warnings.warn(
                f"Semantic index file {path} is unusable ({error}); it is removed and rebuilt.",
                BackendUnavailableWarning,
                stacklevel=2,
            )
            self.discard(partition)
            return None
        self._mapped[partition] = (version, base)
        return base

    def save(self, partition: str, merged: Merged) -> Base:
        make_private_dir(self.directory)
        _remove_abandoned_files(self.path(partition))
        write_snapshot(self.path(partition), partition, merged)
        return self.load(partition) or merged.in_memory()

    def discard(self, partition: str) -> None:
        self._mapped.pop(partition, None)
        with contextlib.suppress(FileNotFoundError):
            self.path(partition).unlink()

    @contextlib.contextmanager
    def claim(self, partition: str) -> Iterator[bool]:
        """Also across processes: a range lock of the directory's lock file."""
        if not RANGE_LOCKS:  # Windows: within this process only
            with super().claim(partition) as mine:
                yield mine
            return
        locks = self._range_locks()
        if not locks.try_lock(partition):
            yield False
            return
        try:
            yield True
        finally:
            locks.unlock(partition)

    def _range_locks(self) -> RangeLocks:
        with self._lock:
            if self._locks is None:
                make_private_dir(self.directory)
                self._locks = RangeLocks(self.directory / "merging.lock")
            return self._locks


def _remove_abandoned_files(path: Path) -> None:
    """Temporary files of writers that died mid-write (named ``<file>.<pid>.<random>.tmp``)."""
    for temporary in path.parent.glob(f"{path.name}.*.tmp"):
        pid = temporary.name[len(path.name) + 1 :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_PROCESS_HOMES: weakref.WeakKeyDictionary[CacheBackend, ProcessHome] = weakref.WeakKeyDictionary()
_DIRECTORY_HOMES: dict[Path, DirectoryHome] = {}
_HOMES_LOCK = threading.Lock()


def home_for(backend: CacheBackend) -> IndexHome:
    """The home of ``backend``'s bases, one per backend object or directory."""
    directory = backend.index_directory()
    with _HOMES_LOCK:
        if directory is None:
            return _PROCESS_HOMES.setdefault(backend, ProcessHome())
        return _DIRECTORY_HOMES.setdefault(directory.resolve(), DirectoryHome(directory))


def _forget_parent_claims() -> None:
    global _HOMES_LOCK
    _HOMES_LOCK = threading.Lock()
    for home in [*_PROCESS_HOMES.values(), *_DIRECTORY_HOMES.values()]:
        home.forget_parent()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=_forget_parent_claims)
