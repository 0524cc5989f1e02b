"""Answers a question already got, kept until its line is written, so a re-run pays once.

A question reaches ``--out`` only once every model answered and the scorer scored.
One that failed (a model's call failed for good, the judge gave no verdict) or that a
kill interrupted is asked again by a re-run, yet the answers it did get were paid for:
each is appended to ``<out>.answers`` (owner-only) the moment it arrives, and a re-run
takes it instead of calling the model again. An answer is kept under the question's
id, the model and the messages it was asked, so a question edited since is asked
anew. The judge's replies are not kept: one without a verdict must be asked again.
The file is removed once every question of the eval set has its line.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from langchain_costrouter._private_files import open_private
from langchain_costrouter.collect.calls import Answer
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary

_Key = tuple[str, str, str]


def answers_path(out: Path) -> Path:
    """Where the answers of the questions not yet in ``out`` are kept."""
    return out.with_name(out.name + ".answers")


class KeptAnswers:
    """The kept answers of one ``--out``: read at the start, appended to as calls end.

    Use it with ``contextlib.closing``.
    """

    def __init__(self, out: Path) -> None:
        self.path = answers_path(out)
        self._answers = _read(self.path)
        self._file: IO[str] | None = None
        self.reused = 0

    def get(
        self, question: str, messages: Sequence[Mapping[str, str]], model: str
    ) -> Answer | None:
        """The answer ``model`` gave to this question as it is now, if one is kept."""
        answer = self._answers.get((question, _digest(messages), model))
        self.reused += answer is not None
        return answer

    def add(self, question: str, messages: Sequence[Mapping[str, str]], answer: Answer) -> None:
        """Keep a paid answer (flushed at once: a kill right after keeps it)."""
        if self._file is None:
            descriptor = open_private(self.path, os.O_WRONLY | os.O_APPEND)
            self._file = os.fdopen(descriptor, "a", encoding="utf-8")
        line = {"id": question, "messages_sha256": _digest(messages), **_fields(answer)}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        """Every question has its line: nothing kept is needed any more."""
        self.close()
        self.path.unlink(missing_ok=True)


def _digest(messages: Sequence[Mapping[str, str]]) -> str:
    text = json.dumps([dict(m) for m in messages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fields(answer: Answer) -> dict[str, Any]:
    return {
        "model": answer.model,
        "text": answer.text,
        "cost_usd": str(answer.cost_usd),
        "input_tokens": answer.input_tokens,
        "output_tokens": answer.output_tokens,
        "logprobs": None if answer.logprobs is None else answer.logprobs.to_json(),
        "cut": answer.cut,
    }


def _read(path: Path) -> dict[_Key, Answer]:
    """The kept answers; a last line a kill cut off is not one (that call is made again)."""
    if not path.exists():
        return {}
    answers: dict[_Key, Answer] = {}
    lines = path.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            key, answer = _parsed(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError, ArithmeticError) as error:
            if number == len(lines):  # no newline after it: cut off mid-write
                continue
            raise ConfigError(
                f"{path}:{number} is not a kept answer ({error!r}); delete the file to "
                "ask its questions' models again"
            ) from None
        answers[key] = answer
    return answers


def _parsed(line: dict[str, Any]) -> tuple[_Key, Answer]:
    logprobs = line["logprobs"]
    answer = Answer(
        model=str(line["model"]),
        text=str(line["text"]),
        cost_usd=Decimal(line["cost_usd"]),
        input_tokens=int(line["input_tokens"]),
        output_tokens=int(line["output_tokens"]),
        logprobs=None if logprobs is None else LogprobSummary.from_json(logprobs),
        cut=bool(line["cut"]),
    )
    return (str(line["id"]), str(line["messages_sha256"]), answer.model), answer
