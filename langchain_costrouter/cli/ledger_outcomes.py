"""``calibrate --from-ledger URL --task TASK``: shadow samples as the outcomes to learn from.

The samples are written as an outcomes file in a private temporary directory and the
calibration reads that file as it reads any other, so both sources take exactly the
same path. Samples that cannot be used are counted on stderr with the reason.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.engine import sqlite_path
from langchain_costrouter.ledger.schema import DEFAULT_TABLE_PREFIX
from langchain_costrouter.outcomes import OutcomeRecord, write_outcomes
from langchain_costrouter.shadow.outcomes import shadow_outcomes
from langchain_costrouter.shadow.rows import SampleRow
from langchain_costrouter.shadow.store import ShadowStore, samples_table_exists

_AGO = re.compile(r"^(\d+(?:\.\d+)?)([dhw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--from-ledger`` and ``--task``, the alternative to an OUTCOMES file."""
    parser.add_argument(
        "--from-ledger", metavar="URL", help="learn from the shadow outcomes in this database"
    )
    parser.add_argument("--task", help="with --from-ledger: the task label to calibrate")
    parser.add_argument(
        "--since",
        type=since_time,
        help="with --from-ledger: only samples from then on (7d, 36h, 2w or an ISO time)",
    )


@contextmanager
def outcomes_file(args: argparse.Namespace) -> Iterator[Path]:
    """The OUTCOMES argument, or a file of the shadow outcomes ``--from-ledger`` names."""
    if args.from_ledger is None:
        if args.outcomes is None:
            raise ConfigError("give an OUTCOMES file, or --from-ledger URL --task TASK")
        if args.task is not None or args.since is not None:
            raise ConfigError("--task and --since go with --from-ledger, not an OUTCOMES file")
        yield args.outcomes
        return
    if args.outcomes is not None:
        raise ConfigError("give an OUTCOMES file or --from-ledger, not both")
    if not args.task:
        raise ConfigError("--from-ledger needs --task TASK: the task label to calibrate")
    with tempfile.TemporaryDirectory(prefix="costrouter-shadow-") as directory:
        path = Path(directory) / f"shadow-{args.task}.jsonl"
        write_outcomes(path, _records(args.from_ledger, args.task, args.since))
        yield path


def _records(url: str, task: str, since: datetime | None) -> list[OutcomeRecord]:
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(f"--from-ledger: no database at {path}")
    found = shadow_outcomes(_samples(url, task, since), task)
    notes = ", ".join(f"{count} {reason}" for reason, count in sorted(found.left_out.items()))
    if not found.records:
        raise ConfigError(
            f"--from-ledger {shown_url(url)}: no usable shadow outcomes of task {task!r}"
            + (f" (left out: {notes})" if notes else " (no samples)")
        )
    if notes:
        print(f"shadow samples left out: {notes}", file=sys.stderr)
    return list(found.records)


def _samples(url: str, task: str, since: datetime | None) -> list[SampleRow]:
    """The task's shadow samples; nothing is created in a database that holds none."""
    with shadow_store(url, "--from-ledger", f"no usable shadow outcomes of task {task!r}") as store:
        return store.read_samples(task=task, since=since)


@contextmanager
def shadow_store(url: str, flag: str, missing: str) -> Iterator[ShadowStore]:
    """The shadow store at ``url`` for a command that only reads it (``flag`` names the
    argument; ``missing`` says what is absent when the database has no shadow samples).

    Opening a `ShadowStore` creates its tables, so the samples table is looked up first:
    pointed at the wrong database, the command says so instead of creating empty tables
    there. A database that cannot be reached is one line, its password masked.

    Raises:
        ConfigError: no shadow samples table there, or the database cannot be read.
    """
    try:
        if not samples_table_exists(url):
            raise ConfigError(
                f"{flag} {shown_url(url)}: {missing} (no table "
                f"{DEFAULT_TABLE_PREFIX}shadow_samples: pass the database a router with "
                "shadow evaluation writes to)"
            )
        store = ShadowStore(url)
        try:
            yield store
        finally:
            store.close()
    except SQLAlchemyError as error:  # down, or not a database at all
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise ConfigError(
            f"{flag}: cannot read the database {shown_url(url)} "
            f"({type(error).__name__}: {reason}); check that the database is up and that "
            f"{flag} names it"
        ) from None


def since_time(text: str) -> datetime:
    """Naive UTC: ``7d`` ago, or an ISO time (UTC when naive)."""
    ago = _AGO.match(text)
    if ago:
        delta = timedelta(**{_UNITS[ago.group(2)]: float(ago.group(1))})
        return datetime.now(UTC).replace(tzinfo=None) - delta
    try:
        when = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected 7d, 36h, 2w or an ISO time, got {text!r}"
        ) from error
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
