"""The outcomes file ``collect`` appends to, and what a re-run finds already done in it.

One line is written (and flushed) the moment a question is finished, so a run that is
stopped, by a cost cap, an error or a kill, keeps every finished question, and a re-run
skips them without calling any provider. A last line cut off mid-write by a kill is the
only line dropped, and the re-run says so.

A re-run resumes only the same run: the same task, the same model set and the same
scorer (each line names it, ``scorer``), since calibration compares scores across lines
and a judge's 0.5 and a numeric 0 or 1 do not mean the same. Lines written before the
scorer was recorded name none and are taken as the run's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from langchain_costrouter._outcome_records import parse_record
from langchain_costrouter._private_files import open_private
from langchain_costrouter.errors import ConfigError, OutcomesFormatError
from langchain_costrouter.outcomes import OutcomeRecord

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

SCORER_KEY = "scorer"
"""The line's key naming the ``--score`` that scored it."""
CUT_KEY = "cut_by_max_output_tokens"
"""The line's key listing the models whose answer stopped at the output cap."""


@dataclass(frozen=True)
class Finished:
    """What an existing outcomes file already holds."""

    ids: frozenset[str]
    dropped_partial_line: bool = False


def finished_questions(
    path: Path, task: str, models: Sequence[str], scorer: str | None = None
) -> Finished:
    """The ids already answered in ``path`` by exactly ``models`` for ``task`` (by ``scorer``).

    Raises:
        ConfigError: the file holds another task, model set or scorer: a different run.
        OutcomesFormatError: a line other than a cut-off last one is not an outcomes line.
    """
    if not path.exists():
        return Finished(frozenset())
    data = path.read_bytes()
    dropped = False
    if data and not data.endswith(b"\n"):
        data, dropped = _end_last_line(path, data)
    ids: set[str] = set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            ids.add(_checked(path, number, raw, (task, set(models), scorer)).id)
    return Finished(frozenset(ids), dropped)


def _end_last_line(path: Path, data: bytes) -> tuple[bytes, bool]:
    """A last line without its newline: complete it if it parses, else drop it (a kill)."""
    cut = data.rfind(b"\n") + 1
    try:
        parse_record(data[cut:].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        with open(path, "r+b") as handle:
            handle.truncate(cut)
        return data[:cut], True
    with open(path, "ab") as handle:
        handle.write(b"\n")
    return data + b"\n", False


def _checked(
    path: Path, number: int, raw: bytes, run: tuple[str, set[str], str | None]
) -> OutcomeRecord:
    task, models, scorer = run
    try:
        record = parse_record(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise OutcomesFormatError(str(path), number, str(error)) from None
    recorded = record.extra.get(SCORER_KEY)
    other_scorer = scorer is not None and recorded is not None and recorded != scorer
    if record.task != task or set(record.outcomes) != models or other_scorer:
        line_scorer = f" scored by {recorded!r}" if recorded is not None else ""
        run_scorer = f" by {scorer!r}" if scorer is not None else ""
        raise ConfigError(
            f"--out {path} holds outcomes of task {record.task!r} for models "
            f"{sorted(record.outcomes)}{line_scorer} (line {number}), not of {task!r} for "
            f"{sorted(models)}{run_scorer}; "
            "give another --out, or the same --task, --models and --score to resume"
        )
    return record


@contextmanager
def only_run(path: Path) -> Iterator[None]:
    """Hold ``path`` for this run: a second run on it is refused while this one lives.

    Two runs on one ``--out`` would both ask every question not yet written, pay for
    each twice and write every id twice (which calibrate refuses). The lock (``flock``
    on the file itself) ends with the process, so a killed run leaves none behind; a file
    made for a run that wrote nothing (its input refused) is removed again.
    Windows has no ``flock``: there, nothing stops a second run.
    """
    existed = path.exists()
    descriptor = open_private(path, os.O_WRONLY | os.O_APPEND)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                existed = True  # the other run's file
                raise ConfigError(
                    f"another costrouter collect is writing --out {path}; wait for it to "
                    "end (a re-run then continues where it stopped), or give another --out"
                ) from None
        yield
    finally:
        if not existed and os.fstat(descriptor).st_size == 0:
            path.unlink(missing_ok=True)  # made for a run that wrote nothing (bad input)
        os.close(descriptor)


class OutcomesWriter:
    """Appends one outcomes line per finished question, flushed at once (file 0600).

    Use it with ``contextlib.closing``.
    """

    def __init__(self, path: Path) -> None:
        descriptor = open_private(path, os.O_WRONLY | os.O_APPEND)
        self._file: IO[str] = os.fdopen(descriptor, "a", encoding="utf-8")
        self.written = 0

    def write(self, record: OutcomeRecord) -> None:
        self._file.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        self._file.flush()
        self.written += 1

    def close(self) -> None:
        self._file.close()
