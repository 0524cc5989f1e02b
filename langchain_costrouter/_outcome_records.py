"""One line of an outcomes file: the record it holds, and the checks it must pass.

The record types (`ModelOutcome`, `OutcomeRecord`) and the parser of one JSONL line
(`parse_record`), whose `LineError` says what is wrong with the line; `outcomes` reads
and writes whole files of them and adds the file name and line number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_costrouter.logprobs import LogprobSummary

FORMAT_VERSION = 1
_ROLES = frozenset({"system", "user", "assistant"})


class LineError(ValueError):
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


def parse_record(line: str) -> OutcomeRecord:
    """Parse one JSONL line; raises a line-level error the reader locates."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise LineError("expected a JSON object")
    version = data.pop("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise LineError(f"unsupported version {version!r}; this reader knows {FORMAT_VERSION}")
    known = {"id", "task", "messages", "reference", "outcomes"}
    return OutcomeRecord(
        id=_text(data, "id"),
        task=_text(data, "task"),
        messages=_messages(data.get("messages")),
        outcomes=_outcomes(data.get("outcomes")),
        reference=_optional_text(data, "reference"),
        extra={key: value for key, value in data.items() if key not in known},
    )


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        return str(value)
    if not isinstance(value, str) or not value:
        raise LineError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise LineError(f"{key!r} must be a string when present, got {value!r}")


def _messages(value: Any) -> tuple[Mapping[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise LineError("'messages' must be a non-empty list of {role, content} objects")
    messages = []
    for index, message in enumerate(value):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role not in _ROLES or not isinstance(content, str):
            raise LineError(
                f"messages[{index}] must be {{'role': one of {sorted(_ROLES)}, "
                f"'content': string}}, got {message!r}"
            )
        messages.append({"role": role, "content": content})
    return tuple(messages)


def _outcomes(value: Any) -> dict[str, ModelOutcome]:
    if not isinstance(value, dict) or not value:
        raise LineError("'outcomes' must be a non-empty object: model id -> outcome")
    return {str(model): _outcome(str(model), entry) for model, entry in value.items()}


def _outcome(model: str, entry: Any) -> ModelOutcome:
    if not isinstance(entry, dict):
        raise LineError(f"outcomes[{model!r}] must be an object, got {entry!r}")
    score = entry.get("score")
    if not isinstance(score, int | float) or not _is_number(score) or not 0.0 <= score <= 1.0:
        raise LineError(
            f"outcomes[{model!r}].score must be a number in [0, 1], got {_shown(score)}"
        )
    text = entry.get("text")
    if text is not None and not isinstance(text, str):
        raise LineError(f"outcomes[{model!r}].text must be a string, got {text!r}")
    cost = entry.get("cost_usd")
    if cost is not None and (not _is_number(cost) or cost < 0):
        raise LineError(f"outcomes[{model!r}].cost_usd must be a number >= 0, got {_shown(cost)}")
    tokens = {key: _tokens(model, entry, key) for key in ("input_tokens", "output_tokens")}
    logprobs = _logprobs(model, entry.get("logprobs"))
    return ModelOutcome(score=float(score), text=text, cost_usd=cost, logprobs=logprobs, **tokens)


def _logprobs(model: str, value: Any) -> LogprobSummary | None:
    if value is None:
        return None
    try:
        return LogprobSummary.from_json(value)
    except ValueError as error:
        raise LineError(f"outcomes[{model!r}].logprobs {error}") from None


def _tokens(model: str, entry: Mapping[str, Any], key: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LineError(f"outcomes[{model!r}].{key} must be an integer >= 0, got {value!r}")
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


__all__ = [
    "FORMAT_VERSION",
    "LineError",
    "ModelOutcome",
    "OutcomeRecord",
    "parse_messages",
    "parse_record",
]
