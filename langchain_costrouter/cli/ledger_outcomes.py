"""``calibrate --from-ledger URL --task TASK``: shadow samples as the outcomes to learn from.

The samples are written as an outcomes file in a private temporary directory and the
calibration reads that file as it reads any other, so both sources take exactly the
same path. Samples that cannot be used are counted on stderr with the reason.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.engine import sqlite_path
from langchain_costrouter.outcomes import OutcomeRecord, write_outcomes
from langchain_costrouter.shadow.outcomes import shadow_outcomes
from langchain_costrouter.shadow.store import ShadowStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--from-ledger`` and ``--task``, the alternative to an OUTCOMES file."""
    parser.add_argument(
        "--from-ledger", metavar="URL", help="learn from the shadow outcomes in this database"
    )
    parser.add_argument("--task", help="with --from-ledger: the task label to calibrate")


@contextmanager
def outcomes_file(args: argparse.Namespace) -> Iterator[Path]:
    """The OUTCOMES argument, or a file of the shadow outcomes ``--from-ledger`` names."""
    if args.from_ledger is None:
        if args.outcomes is None:
            raise ConfigError("give an OUTCOMES file, or --from-ledger URL --task TASK")
        if args.task is not None:
            raise ConfigError("--task goes with --from-ledger; an OUTCOMES file names its tasks")
        yield args.outcomes
        return
    if args.outcomes is not None:
        raise ConfigError("give an OUTCOMES file or --from-ledger, not both")
    if not args.task:
        raise ConfigError("--from-ledger needs --task TASK: the task label to calibrate")
    with tempfile.TemporaryDirectory(prefix="costrouter-shadow-") as directory:
        path = Path(directory) / f"shadow-{args.task}.jsonl"
        write_outcomes(path, _records(args.from_ledger, args.task))
        yield path


def _records(url: str, task: str) -> list[OutcomeRecord]:
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(f"--from-ledger: no database at {path}")
    store = ShadowStore(url)
    try:
        found = shadow_outcomes(store.read_samples(task=task), task)
    finally:
        store.close()
    notes = ", ".join(f"{count} {reason}" for reason, count in sorted(found.left_out.items()))
    if not found.records:
        raise ConfigError(
            f"--from-ledger {store.url}: no usable shadow outcomes of task {task!r}"
            + (f" (left out: {notes})" if notes else " (no samples)")
        )
    if notes:
        print(f"shadow samples left out: {notes}", file=sys.stderr)
    return list(found.records)
