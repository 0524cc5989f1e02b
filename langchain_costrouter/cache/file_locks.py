"""Cross-process locks as byte ranges of one file: two system calls per lock, no writes.

A coalescing leader on diskcache used to take its lock as a row of the cache database:
an SQLite write transaction to lock and another to unlock, each costing as much as
storing the answer. A POSIX record lock (``fcntl.lockf``) on one byte of a lock file
beside the database does the same job with two system calls, and the kernel drops it
when its process dies, so no expiry is needed for a crashed leader.

Each name maps to one byte, chosen by hashing it into a 62-bit offset: different names
practically never share a byte (and if two did, a follower would only wait for the other
leader, then read the cache and proceed). Record locks belong to the process, not the
thread, so the names this process holds are also kept, with their bytes: two caches of
one process on the same directory exclude each other as two processes do. A name kept
there is also claimed by the one thread making system calls on its byte, so no Python
lock is held across a system call.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
import weakref
from pathlib import Path
from typing import NamedTuple

from langchain_costrouter import _syscalls

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: DiskBackend locks with database rows
    fcntl = None  # type: ignore[assignment]

AVAILABLE = fcntl is not None


class RangeLocks:
    """Named exclusive locks shared by the processes that open the same file.

    Every `RangeLocks` of one file in this process shares one open descriptor and one
    table of held names (`_LockFile`), closed when the last of them is freed: closing
    any descriptor of the file drops every record lock the process holds on it, so a
    second descriptor's close would silently drop the locks taken through the first.
    """

    def __init__(self, path: Path) -> None:
        """Open (creating owner-only) the lock file, or share this process's open one."""
        self.path = path
        self._file = _shared(path)

    def try_lock(self, name: str) -> bool:
        """Take the lock of ``name`` if no one else holds it; never blocks."""
        offset = self._reserve(name)
        if offset is None:
            return False
        if _syscalls.try_lock_byte(self._file.fd, offset):
            return True
        self._release(name)
        return False

    def unlock(self, name: str) -> None:
        """Release the lock of ``name`` (a no-op when this process does not hold it)."""
        offset = self._file.held.get(name)
        if offset is not None:
            _syscalls.unlock_byte(self._file.fd, offset)
            self._release(name)

    def is_locked(self, name: str) -> bool:
        """Whether anyone holds the lock of ``name`` (asked by its followers)."""
        offset = self._reserve(name)
        if offset is None:
            return True
        try:
            if not _syscalls.try_lock_byte(self._file.fd, offset):
                return True
            _syscalls.unlock_byte(self._file.fd, offset)
            return False
        finally:
            self._release(name)

    def _reserve(self, name: str) -> int | None:
        """Claim ``name`` for this thread: only its claimer makes system calls on its byte.

        The claim, not a lock held across the system call, keeps threads apart: a thread
        blocked on a Python lock while another is in the kernel is a GIL hand-over each
        time, the convoy that made this file cost more than the database under threads.
        Returns the name's byte, or None when another thread of this process has it.
        """
        offset = _offset(name)
        file = self._file
        with file.forked_guard():
            held = file.held
            if name in held:
                return None
            held[name] = offset
            return offset

    def _release(self, name: str) -> None:
        file = self._file
        with file.forked_guard():
            file.held.pop(name, None)


class _LockFile:
    """A lock file as this process has it open: one descriptor, the names held through it."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held: dict[str, int] = {}
        """The names this process holds or is locking, and their bytes."""
        self._guard = threading.Lock()
        self._pid = _syscalls.pid()

    def forked_guard(self) -> threading.Lock:
        """The guard of this process: a forked child holds none of its parent's locks."""
        if self._pid != _syscalls.pid():
            self._pid = _syscalls.pid()
            self.held = {}
            self._guard = threading.Lock()
        return self._guard


class _Entry(NamedTuple):
    file: weakref.ref[_LockFile]
    state: list[bool]
    """[open]: set to False by the file's weakref callback once its descriptor is closed."""


_FILES: dict[Path, _Entry] = {}
_FILES_LOCK = threading.Lock()
_CLOSE_WAIT_SECONDS = 1.0


def _shared(path: Path) -> _LockFile:
    """This process's open `_LockFile` of ``path``, opened if it has none.

    A file freed on another thread whose descriptor is not closed yet (its callback
    runs as the object goes) is waited for: a new descriptor opened before the old
    one's close would lose the locks taken through it at that close.
    """
    key = path.absolute()
    with _FILES_LOCK:
        entry = _FILES.get(key)
        file = entry.file() if entry is not None else None
        if file is not None:
            return file
        for gone in [k for k, e in _FILES.items() if not e.state[0]]:
            del _FILES[gone]
        deadline = time.monotonic() + _CLOSE_WAIT_SECONDS
        while entry is not None and entry.state[0] and time.monotonic() < deadline:
            time.sleep(0)  # the closing thread is between two bytecodes
        file = _LockFile(key)
        state = [True]
        _FILES[key] = _Entry(weakref.ref(file, functools.partial(_closed, file.fd, state)), state)
        return file


def _closed(fd: int, state: list[bool], _: object) -> None:
    """The last `RangeLocks` of a file is gone: close its descriptor (no lock is taken
    here: this runs wherever the object is freed, perhaps inside `_shared`)."""
    os.close(fd)
    state[0] = False


def _offset(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # below 2**62: a valid file offset
