"""This process's journal of one ledger: segment files it appends to and holds locked.

Callers append under `Journal.lock` (one ``write(2)`` each); the background writer
seals, syncs, truncates and deletes segments. The line format is in
`langchain_costrouter.ledger._journal_lines`, the replay of other processes' segments
in `langchain_costrouter.ledger.spool`.

A forked child closes its copies of the parent's segments at once (`forget_in_child`,
run by the fork): they are the same open files as the parent's, so their locks are the
parent's, and a child keeping them would keep any other process from replaying the
parent's rows once the parent is gone. The child's own first segment is made by its
first append, so a child that records nothing leaves no file.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from langchain_costrouter import _syscalls
from langchain_costrouter._private_files import make_private_dir
from langchain_costrouter.ledger import _journal_lines as journal_lines
from langchain_costrouter.ledger import spool
from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.rows import LedgerRow

try:
    import fcntl
except ImportError:  # Windows: no journal, see `Journal.__init__`
    fcntl = None  # type: ignore[assignment]

ROTATE_BYTES = 4 << 20
"""A live segment this large is closed once its rows are committed, for a fresh one."""


@dataclass
class _Segment:
    path: Path
    fd: int
    size: int
    last_seq: int


class Journal:
    """Segments of this process, oldest first; the last one is appended to."""

    def __init__(self, directory: Path, ledger: str, table_prefix: str) -> None:
        """Open a first segment in ``directory`` (created owner-only); raises OSError.

        Also OSError where the platform has no ``fcntl`` (Windows): a segment is claimed by
        its lock, so without one another process could replay rows still being written;
        the ledger then runs without a journal, its rows waiting in memory.
        """
        if fcntl is None:
            raise OSError("this platform has no fcntl file locks, which the spool needs")
        self.directory = directory
        self.lock = threading.Lock()
        """Held by callers around `append` and their queueing, so seq order is queue order."""
        self._header = journal_lines.header(ledger, table_prefix)
        self._closed: list[_Segment] = []
        self._seq = 0
        self._spooling = False
        self._unsynced = False
        make_private_dir(directory)
        self._current: _Segment | None = self._open_segment()
        """The segment appended to; None in a forked child until its first append."""

    @property
    def seq(self) -> int:
        """The sequence number of the last item appended."""
        return self._seq

    def append(self, items: list[LedgerRow | PendingCall]) -> int:
        """Write ``items`` to the live segment (caller holds `lock`); return the last seq.

        Raises OSError (a full disk): the caller stops journaling.
        """
        data = journal_lines.encode(items)
        current = self._current
        if current is None:  # a forked child's first append (the parent may have
            make_private_dir(self.directory)  # removed the directory on closing)
            current = self._current = self._open_segment()
        while data:
            written = _syscalls.write(current.fd, data)  # keeps the GIL: see `_syscalls`
            data = data[written:]
            current.size += written
        self._seq += len(items)
        current.last_seq = self._seq
        self._unsynced = True
        return self._seq

    def sync(self) -> None:
        """Make what was appended survive a machine crash (the writer, before each write)."""
        if self._unsynced and self._current is not None:
            self._unsynced = False
            os.fsync(self._current.fd)

    def committed(self, seq: int) -> None:
        """Every item up to ``seq`` is in the database: drop the segments that hold only those."""
        while self._closed and self._closed[0].last_seq <= seq:
            self._drop(self._closed.pop(0))
        with self.lock:
            current = self._current
            if current is None:
                return
            if self._seq == seq:
                os.ftruncate(current.fd, len(self._header))
                current.size = len(self._header)
            elif current.size >= ROTATE_BYTES:
                self._seal()

    def start_spooling(self) -> None:
        """The database is down: mark this process's segments as spooled rows."""
        with self.lock:
            self._spooling = True
            for segment in self._segments():
                self._rename(segment, spool.SPOOLED)

    def seal(self) -> int:
        """Close the live segment (if it holds items) so it can be replayed; return its seq."""
        with self.lock:
            if self._current is not None and self._current.size > len(self._header):
                self._seal()
            return self._seq

    def replay_sealed(self, write: spool.WriteRows, batch_size: int) -> int:
        """Write the closed segments in order, deleting each; return the rows written."""
        written = 0
        while self._closed:
            rows, _ = spool.replay(self._closed[0].path, write, batch_size)
            self._drop(self._closed.pop(0))
            written += rows
        return written

    def pending_rows(self) -> int:
        """Rows in this process's segments (the spooled ones, while the database is down)."""
        with self.lock:
            paths = [segment.path for segment in self._segments()]
        return sum(spool.count_rows(path) for path in paths)

    def stop_spooling(self) -> None:
        """Everything spooled is written: new segments are live ones again."""
        with self.lock:
            self._spooling = False
            if self._current is not None:
                self._rename(self._current, spool.LIVE)

    def close(self, *, all_written: bool) -> None:
        """Release the segments; delete them when every item is in the database."""
        with self.lock:
            for segment in self._segments():
                if all_written or segment.size <= len(self._header):  # nothing to replay
                    segment.path.unlink(missing_ok=True)
                os.close(segment.fd)
            self._closed = []
        if all_written:
            with contextlib.suppress(OSError):  # other processes' segments are still there
                self.directory.rmdir()

    def forget_in_child(self) -> None:
        """A forked child: the parent owns these segments; start a journal of its own.

        Run by the fork, in the child, before anything else runs there.
        """
        for segment in self._segments():
            os.close(segment.fd)  # the parent's lock stays: it has the same open file
        self.lock = threading.Lock()
        self._closed, self._seq, self._spooling, self._unsynced = [], 0, False, False
        self._current = None

    def _segments(self) -> list[_Segment]:
        """The closed segments and the live one, oldest first."""
        current = [] if self._current is None else [self._current]
        return [*self._closed, *current]

    def _seal(self) -> None:
        current = self._current
        if current is None:
            return
        os.fsync(current.fd)
        self._closed.append(current)
        self._current = self._open_segment()

    def _open_segment(self) -> _Segment:
        path = spool.new_segment_path(
            self.directory, spool.SPOOLED if self._spooling else spool.LIVE
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else has it
        os.write(fd, self._header)
        os.fsync(fd)
        _sync_directory(self.directory)
        return _Segment(path, fd, len(self._header), self._seq)

    def _rename(self, segment: _Segment, suffix: str) -> None:
        target = segment.path.with_suffix(suffix)
        if target != segment.path:
            os.rename(segment.path, target)
            segment.path = target

    @staticmethod
    def _drop(segment: _Segment) -> None:
        segment.path.unlink(missing_ok=True)  # before the lock goes: never claimable
        os.close(segment.fd)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
