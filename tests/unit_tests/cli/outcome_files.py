"""Small synthetic outcomes files for the calibrate/replay/run tests.

Two task labels and three models with provider-style names. The cheap model is right
on "easy" questions only, the middle one on most, the dear one always; the question
words tell easy from hard, so a learned scorer has something real to learn.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord, write_outcomes

CHEAP, MIDDLE, DEAR = "acme/tiny-1b", "acme/mid-8b", "bigco/ultra-2"
TASKS = ("sentiment", "triage")
_EASY = ("apple", "river", "stone", "cloud")
_HARD = ("quantum", "statute", "tensor", "ledger")


def synthetic_records(size: int, seed: int = 0, prefix: str = "q") -> list[OutcomeRecord]:
    """``size`` questions split over `TASKS`, with recorded costs."""
    rng = random.Random(seed)
    return [_record(f"{prefix}{index}", TASKS[index % 2], rng) for index in range(size)]


def write_file(path: Path, size: int = 160, seed: int = 0, prefix: str = "q") -> Path:
    """Write a synthetic outcomes file and return its path."""
    write_outcomes(path, synthetic_records(size, seed, prefix))
    return path


def write_lines(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    """Write raw lines (objects as JSON, strings verbatim), for malformed files."""
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def _record(record_id: str, task: str, rng: random.Random) -> OutcomeRecord:
    easy = rng.random() < 0.6
    word = rng.choice(_EASY if easy else _HARD)
    truth = rng.choice(["Yes", "No"])
    wrong = "No" if truth == "Yes" else "Yes"
    middle_right = easy or rng.random() < 0.7
    return OutcomeRecord(
        id=record_id,
        task=task,
        messages=({"role": "user", "content": f"{task} question {record_id} about {word}?"},),
        reference=truth,
        outcomes={
            CHEAP: ModelOutcome(float(easy), truth if easy else wrong, cost_usd=0.0001),
            MIDDLE: ModelOutcome(float(middle_right), truth if middle_right else wrong, 0.001),
            DEAR: ModelOutcome(1.0, truth, cost_usd=0.02),
        },
    )
