"""Recorded outcomes (JSONL, version 1): the replay and calibration input.

One JSON object per line: the question a model was asked, the task label, an optional
reference answer, and for every model of the file what it answered, how good the answer
was (``score`` in [0, 1]) and what it cost. Users record their own eval set in this
format, so the reader is strict: a bad line raises `OutcomesFormatError` naming the
file and the line number, and is never skipped silently, because a silently dropped
line would bias every figure computed from the file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_costrouter._private_files import make_private_dir
from langchain_costrouter.errors import OutcomesFormatError
from langchain_costrouter.logprobs import LogprobSummary

FORMAT_VERSION = 1
_ROLES = frozenset({"system", "user", "assistant"})


class _LineError(ValueError):
    """A problem of one line; the reader adds the file and line number."""


@dataclass(frozen=True)
class ModelOutcome:
    """One model's recorded answer to one question.

    Cost is ``cost_usd`` when recorded; otherwise the tokens let a price table price it.
    ``logprobs`` summarises the answer's token log-probabilities when the provider
    returned them (the learned scorer may use it); None means not recorded, not zero.
    """

    score: float
    text: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    logprobs: LogprobSummary | None = None

    def to_json(self) -> dict[str, Any]:
        """The line's JSON object for this outcome, without the unset fields."""
        fields = {
            "text": self.text,
            "score": self.score,
            "cost_usd": self.cost_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "logprobs": None if self.logprobs is None else self.logprobs.to_json(),
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class OutcomeRecord:
    """One question of an eval set with every model's recorded outcome."""

    id: str
    task: str
    messages: tuple[Mapping[str, str], ...]
    outcomes: Mapping[str, ModelOutcome]
    reference: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def models(self) -> frozenset[str]:
        return frozenset(self.outcomes)

    def to_json(self) -> dict[str, Any]:
        """The JSONL object of this record (docs/architecture.md 2.3)."""
        line: dict[str, Any] = {"id": self.id, "task": self.task}
        line["messages"] = [dict(message) for message in self.messages]
        if self.reference is not None:
            line["reference"] = self.reference
        line["outcomes"] = {name: out.to_json() for name, out in self.outcomes.items()}
        line.update(self.extra)
        return line


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
        except _LineError as exc:
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
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def parse_record(line: str) -> OutcomeRecord:
    """Parse one JSONL line; raises a line-level error the reader locates."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _LineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise _LineError("expected a JSON object")
    version = data.pop("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise _LineError(f"unsupported version {version!r}; this reader knows {FORMAT_VERSION}")
    known = {"id", "task", "messages", "reference", "outcomes"}
    return OutcomeRecord(
        id=_text(data, "id"),
        task=_text(data, "task"),
        messages=_messages(data.get("messages")),
        outcomes=_outcomes(data.get("outcomes")),
        reference=_optional_text(data, "reference"),
        extra={key: value for key, value in data.items() if key not in known},
    )


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
        raise _LineError(
            f"duplicate id {record.id!r}, first on line {first}; give each record its own "
            "id (a question asked twice is two records, each with its own id)"
        )
    if models is not None and record.models != models:
        raise _LineError(_other_models(record.models, models, next(iter(first_lines.values()))))
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


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        return str(value)
    if not isinstance(value, str) or not value:
        raise _LineError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _LineError(f"{key!r} must be a string when present, got {value!r}")


def _messages(value: Any) -> tuple[Mapping[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise _LineError("'messages' must be a non-empty list of {role, content} objects")
    messages = []
    for index, message in enumerate(value):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role not in _ROLES or not isinstance(content, str):
            raise _LineError(
                f"messages[{index}] must be {{'role': one of {sorted(_ROLES)}, "
                f"'content': string}}, got {message!r}"
            )
        messages.append({"role": role, "content": content})
    return tuple(messages)


def _outcomes(value: Any) -> dict[str, ModelOutcome]:
    if not isinstance(value, dict) or not value:
        raise _LineError("'outcomes' must be a non-empty object: model id -> outcome")
    return {str(model): _outcome(str(model), entry) for model, entry in value.items()}


def _outcome(model: str, entry: Any) -> ModelOutcome:
    if not isinstance(entry, dict):
        raise _LineError(f"outcomes[{model!r}] must be an object, got {entry!r}")
    score = entry.get("score")
    if not isinstance(score, int | float) or not _is_number(score) or not 0.0 <= score <= 1.0:
        raise _LineError(
            f"outcomes[{model!r}].score must be a number in [0, 1], got {_shown(score)}"
        )
    text = entry.get("text")
    if text is not None and not isinstance(text, str):
        raise _LineError(f"outcomes[{model!r}].text must be a string, got {text!r}")
    cost = entry.get("cost_usd")
    if cost is not None and (not _is_number(cost) or cost < 0):
        raise _LineError(f"outcomes[{model!r}].cost_usd must be a number >= 0, got {_shown(cost)}")
    tokens = {key: _tokens(model, entry, key) for key in ("input_tokens", "output_tokens")}
    logprobs = _logprobs(model, entry.get("logprobs"))
    return ModelOutcome(score=float(score), text=text, cost_usd=cost, logprobs=logprobs, **tokens)


def _logprobs(model: str, value: Any) -> LogprobSummary | None:
    if value is None:
        return None
    try:
        return LogprobSummary.from_json(value)
    except ValueError as error:
        raise _LineError(f"outcomes[{model!r}].logprobs {error}") from None


def _tokens(model: str, entry: Mapping[str, Any], key: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _LineError(f"outcomes[{model!r}].{key} must be an integer >= 0, got {value!r}")
    return value


def _is_number(value: Any) -> bool:
    """A finite JSON number; an integer beyond float range is none (no cost or score is)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # math.isfinite converts an int to float first
        return False


def _shown(value: Any) -> str:
    """A bad value for an error message, cut short (a 400-digit number is no help)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


def parse_messages(value: Any) -> tuple[Mapping[str, str], ...]:
    """A line's ``messages``, checked: a ValueError says what is wrong (eval-set readers)."""
    return _messages(value)
