"""The ledger's write-ahead journal: no returned call loses its rows to a database outage.

Every call's record is appended to a journal file (one ``write(2)``, O_APPEND) before
``add_call`` returns, so a process killed right after a call returned still has that
call on disk. The background writer fsyncs the journal before each database write and
truncates it once the database has committed everything in it; while the database is
down the journal is the spool, written to the database in order once it answers again,
by this process or by the next one that opens the ledger (see docs/architecture.md 2.2).

Layout: ``<user data dir>/langchain-costrouter/spool/<digest>/`` per ledger, the digest
taken over the URL without its password and the table prefix (no credential is stored).
Each process appends to segment files of its own, held under an exclusive ``flock``:
a segment whose lock can be taken belongs to a process that is gone, and whoever takes
the lock replays it. Segments named ``*.spool`` hold rows their live owner could not
write. Replays insert-or-ignore on ``(run_id, attempt)``, so a row is stored once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs

from langchain_costrouter.ledger import _journal_lines as journal_lines
from langchain_costrouter.ledger.rows import LedgerRow

try:
    import fcntl
except ImportError:  # Windows: no journal is written there (`_journal`), none claimed
    fcntl = None  # type: ignore[assignment]

APP_NAME = "langchain-costrouter"
SPOOL_DIR_ENV = "COSTROUTER_SPOOL_DIR"
"""Environment variable: the root of the spool directories (default: the user data dir)."""
LIVE, SPOOLED = ".jsonl", ".spool"

WriteRows = Callable[[list[LedgerRow]], None]


def spool_root() -> Path:
    """Where the spool directories live: $COSTROUTER_SPOOL_DIR, else the user data dir."""
    configured = os.environ.get(SPOOL_DIR_ENV)
    return Path(configured) if configured else platformdirs.user_data_path(APP_NAME) / "spool"


def spool_dir(ledger: str, table_prefix: str, root: Path | None = None) -> Path:
    """The spool directory of a ledger; ``ledger`` is its URL with the password hidden."""
    digest = hashlib.sha256(f"{ledger}\n{table_prefix}".encode()).hexdigest()[:24]
    return (root or spool_root()) / digest


def read_segment(path: Path) -> tuple[list[list[LedgerRow]], int]:
    """Rows per journal line of a segment, and how many lines could not be read.

    A last line without its newline was torn by a crash during its write: its call had
    not returned, so it is skipped silently.
    """
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] != b"":
        lines.pop()  # torn by a crash during write(2)
    calls, unreadable = [], 0
    for line in lines[1:]:  # the header
        if not line:
            continue
        try:
            calls.append(journal_lines.decode(line))
        except (ValueError, KeyError, TypeError):
            unreadable += 1
    return calls, unreadable


def count_rows(path: Path) -> int:
    """Rows waiting in a segment (each line says how many it makes)."""
    try:
        lines = path.read_bytes().split(b"\n")[1:]
    except FileNotFoundError:
        return 0
    total = 0
    for line in lines:
        if line.endswith(b"}"):
            try:
                total += int(json.loads(line).get("n", 0))
            except ValueError:
                continue
    return total


def segments(directory: Path) -> list[Path]:
    """A ledger's segment files, oldest first (names start with their creation time)."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [directory / name for name in names if name.endswith((LIVE, SPOOLED))]


def pending_rows(directory: Path) -> int:
    """Rows of a ledger not known to be in its database.

    Counts spooled segments (rows a running process could not write) and the segments
    of processes that are gone; the live journals of running processes, written within
    a flush interval, are not counted.
    """
    total = 0
    for path in segments(directory):
        if path.suffix == SPOOLED:
            total += count_rows(path)
            continue
        with claimed(path) as owned:
            if owned:
                total += count_rows(path)
    return total


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock if its owner is gone (True), else yield False at once.

    The lock is taken without waiting; a file unlinked by another claimant between our
    open and our lock is not ours either (its rows were replayed already).
    """
    if fcntl is None:  # no lock to tell a live owner from a gone one: never claim
        yield False
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield os.fstat(fd).st_nlink > 0 and _same_file(fd, path)
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except FileNotFoundError:
        return False


def replay(path: Path, write: WriteRows, batch_size: int) -> tuple[int, int]:
    """Write a segment's rows in order, in batches; return (rows, unreadable lines).

    Rows already in the database (a replay cut short, a commit whose truncation a crash
    prevented) are skipped by the insert-or-ignore of the row id.
    """
    calls, unreadable = read_segment(path)
    batch: list[LedgerRow] = []
    written = 0
    for rows in calls:
        batch.extend(rows)
        if len(batch) >= batch_size:
            write(batch)
            written, batch = written + len(batch), []
    if batch:
        write(batch)
        written += len(batch)
    return written, unreadable


def replay_orphans(directory: Path, write: WriteRows, batch_size: int) -> tuple[int, int]:
    """Replay, then delete, the segments of processes that are gone, oldest first.

    Returns (rows written, unreadable lines). A write error propagates: the segment
    being replayed stays for the next attempt.
    """
    written = unreadable = 0
    busy: set[str] = set()  # processes with a segment claimed by someone else (or alive)
    for path in segments(directory):
        owner = path.name.split("-")[1]  # the pid: its segments are replayed in order
        if owner in busy:
            continue
        with claimed(path) as owned:
            if not owned:
                busy.add(owner)
                continue
            rows, bad = replay(path, write, batch_size)
            path.unlink()
            written, unreadable = written + rows, unreadable + bad
    return written, unreadable


def new_segment_path(directory: Path, suffix: str) -> Path:
    """A segment name that sorts by creation time and is unique to this process."""
    return directory / f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(3).hex()}{suffix}"
