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
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import platformdirs

from langchain_costrouter.ledger.rows import ROW_FIELDS, LedgerRow, PendingCall

try:
    import fcntl
except ImportError:  # Windows: no journal is written there (`_journal`), none claimed
    fcntl = None  # type: ignore[assignment]

APP_NAME = "langchain-costrouter"
SPOOL_DIR_ENV = "COSTROUTER_SPOOL_DIR"
"""Environment variable: the root of the spool directories (default: the user data dir)."""
VERSION = 1
LIVE, SPOOLED = ".jsonl", ".spool"
_MONEY = tuple(field.name for field in fields(LedgerRow) if "Decimal" in str(field.type))

WriteRows = Callable[[list[LedgerRow]], None]


def spool_root() -> Path:
    """Where the spool directories live: $COSTROUTER_SPOOL_DIR, else the user data dir."""
    configured = os.environ.get(SPOOL_DIR_ENV)
    return Path(configured) if configured else platformdirs.user_data_path(APP_NAME) / "spool"


def spool_dir(ledger: str, table_prefix: str, root: Path | None = None) -> Path:
    """The spool directory of a ledger; ``ledger`` is its URL with the password hidden."""
    digest = hashlib.sha256(f"{ledger}\n{table_prefix}".encode()).hexdigest()[:24]
    return (root or spool_root()) / digest


def row_count(item: LedgerRow | PendingCall) -> int:
    """How many rows an item makes, without building them (see `rows_from_costrouter`)."""
    if isinstance(item, LedgerRow):
        return 1
    return len(item.meta.get("attempts") or ()) or int(bool(item.meta.get("cache_hit")))


def encode(items: list[LedgerRow | PendingCall]) -> bytes:
    """Journal lines of ``items``: a call keeps its record, rows are written out."""
    return b"".join(_encode_item(item) for item in items)


def _encode_item(item: LedgerRow | PendingCall) -> bytes:
    if isinstance(item, PendingCall):
        call = {
            "run_id": item.run_id,
            "when": item.when.isoformat(),
            "reference_model": item.reference_model,
            "meta": item.meta,
        }
        try:
            return _line({"n": row_count(item), "call": call})
        except (
            TypeError,
            ValueError,
            RecursionError,
        ):  # a value JSON cannot hold: store the rows themselves
            rows = item.rows()
            return _line({"n": len(rows), "rows": [_row_dict(row) for row in rows]})
    return _line({"n": 1, "rows": [_row_dict(item)]})


_AS_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_APPEND_NEWLINE
)
"""orjson refuses what ``json`` would (a datetime, a dataclass, a str subclass) instead of
writing it its own way, so a call whose record holds one falls back to its rows."""


def _line(value: dict[str, Any]) -> bytes:
    """One journal line. orjson: it runs on the caller's path, fifteen times faster than
    ``json``; like JSON, it writes a NaN or infinite float as null. A lone surrogate
    (which UTF-8 cannot encode) is written as the databases will store it."""
    try:
        return orjson.dumps(value, option=_AS_JSON)
    except TypeError:
        storable = storable_text(value, nul=False)  # JSON holds a NUL
        if storable == value:
            raise
        return orjson.dumps(storable, option=_AS_JSON)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(value: Any, *, nul: bool = True) -> Any:
    """``value`` with every lone surrogate in its strings (dict keys too), and every NUL
    unless ``nul`` is False (SQLite holds one), made U+FFFD: Postgres text holds no NUL,
    and UTF-8 no surrogate, so a row carrying one (a provider's model name, a judge's
    reason) would fail every write, and hold up every row after it in the spool. Called
    only once a write or an encoding failed."""
    if isinstance(value, str):
        return (_UNSTORABLE if nul else _SURROGATE).sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable_text(k, nul=nul): storable_text(v, nul=nul) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_text(item, nul=nul) for item in value]
    return value


def _row_dict(row: LedgerRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in ROW_FIELDS}
    values["time"] = row.time.isoformat()
    for name in _MONEY:
        values[name] = None if values[name] is None else str(values[name])
    return values


def decode(line: bytes) -> list[LedgerRow]:
    """The rows of one journal line (a header line has none)."""
    value = json.loads(line)
    if "call" in value:
        call = value["call"]
        pending = PendingCall(
            call["meta"],
            call["run_id"],
            datetime.fromisoformat(call["when"]),
            call["reference_model"],
        )
        return pending.rows()
    return [_row_from_dict(row) for row in value.get("rows", ())]


def _row_from_dict(stored: dict[str, Any]) -> LedgerRow:
    # Fields of another version's rows are dropped; fields it lacks take their defaults.
    values = {name: value for name, value in stored.items() if name in ROW_FIELDS}
    values["time"] = datetime.fromisoformat(values["time"])
    for name in _MONEY:
        values[name] = None if values[name] is None else Decimal(values[name])
    return LedgerRow(**values)


def header(ledger: str, table_prefix: str) -> bytes:
    """The first line of every segment: what it is and which ledger it belongs to."""
    return _line(
        {
            "journal": "langchain-costrouter ledger",
            "version": VERSION,
            "ledger": ledger,
            "table_prefix": table_prefix,
            "pid": os.getpid(),
        }
    )


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
            calls.append(decode(line))
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
