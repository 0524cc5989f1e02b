"""Recorded outcomes (JSONL, version 1): the replay and calibration input.

One JSON object per line: the question a model was asked, the task label, an optional
reference answer, and for every model of the file what it answered, how good the answer
was (``score`` in [0, 1]) and what it cost. Users record their own eval set in this
format, so the reader is strict: a bad line raises `OutcomesFormatError` naming the
file and the line number, and is never skipped silently, because a silently dropped
line would bias every figure computed from the file. `_outcome_records` holds one
line's record and its checks; this module reads and writes whole files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from langchain_costrouter._outcome_records import (
    LineError,
    ModelOutcome,
    OutcomeRecord,
    parse_record,
)
from langchain_costrouter._private_files import make_private_dir, open_private
from langchain_costrouter.errors import OutcomesFormatError


def read_outcomes(path: str | Path) -> list[OutcomeRecord]:
    """Read a whole outcomes file, checking every line and the shared model set.

    Raises:
        OutcomesFormatError: on the first bad line, with its line number.
    """
    return list(iter_outcomes(path))


def iter_outcomes(path: str | Path) -> Iterator[OutcomeRecord]:
    """Yield the records of an outcomes file one by one (blank lines are allowed)."""
    return (record for _, record in iter_numbered_outcomes(path))


def iter_numbered_outcomes(path: str | Path) -> Iterator[tuple[int, OutcomeRecord]]:
    """`iter_outcomes` with each record's line number, for errors found after parsing."""
    name = str(path)
    models: frozenset[str] | None = None
    first_lines: dict[str, int] = {}
    for number, line in record_lines(path):
        try:
            record = parse_record(line)
            models = _check_consistent(record, models, first_lines, number)
        except LineError as exc:
            raise OutcomesFormatError(name, number, str(exc)) from None
        yield number, record
    if models is None:
        raise OutcomesFormatError(name, 0, "the file holds no records")


def record_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line: the one way a file splits into records.

    Lines end at ``\n`` only (binary split), so a bare ``\r`` between JSON tokens stays
    inside its line; every reader of record positions must split the same way, or a
    record's position would point at another line.
    """
    name = str(path)
    with open(path, "rb") as lines:
        for number, raw in enumerate(lines, start=1):
            line = _decoded(raw, name, number)
            if line.strip():
                yield number, line


def _decoded(raw: bytes, name: str, number: int) -> str:
    """The line as text; a byte that is not UTF-8 is an error naming line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise OutcomesFormatError(
            name,
            number,
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {error.start + 1}); "
            "outcomes files are JSONL in UTF-8",
        ) from None


def write_outcomes(path: str | Path, records: Iterable[OutcomeRecord]) -> int:
    """Write records as JSONL (UTF-8, one object a line); returns how many were written.

    The file holds a team's prompts and its models' answers, so it is created private to
    the user (0600, its missing directories 0700), like the ledger and the cache.
    """
    count = 0
    target = Path(path)
    make_private_dir(target.parent)
    descriptor = open_private(target, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def _check_consistent(
    record: OutcomeRecord,
    models: frozenset[str] | None,
    first_lines: dict[str, int],
    number: int,
) -> frozenset[str]:
    """The file's model set; ``first_lines`` maps each id seen to its line.

    A repeated id or a line with other models is refused, naming what to do: the
    records are compared model against model on the same questions.
    """
    first = first_lines.setdefault(record.id, number)
    if first != number:
        raise LineError(
            f"duplicate id {record.id!r}, first on line {first}; give each record its own "
            "id (a question asked twice is two records, each with its own id)"
        )
    if models is not None and record.models != models:
        raise LineError(_other_models(record.models, models, next(iter(first_lines.values()))))
    return record.models


def _other_models(found: frozenset[str], models: frozenset[str], first: int) -> str:
    """Which models a line lacks or adds against the first record's, and what to do."""
    parts = []
    if models - found:
        parts.append(f"lacks an outcome of {sorted(models - found)}")
    if found - models:
        parts.append(f"has an outcome of {sorted(found - models)}, which line {first} has not")
    return (
        f"model set {sorted(found)} {' and '.join(parts)}: calibration compares the models "
        "on the same questions, so record every model's outcome on every line, or leave "
        "a model out of every line"
    )


__all__ = [
    "ModelOutcome",
    "OutcomeRecord",
    "iter_numbered_outcomes",
    "iter_outcomes",
    "read_outcomes",
    "record_lines",
    "write_outcomes",
]
