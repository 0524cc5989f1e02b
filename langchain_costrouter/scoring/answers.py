"""Deterministic scores of an answer against a reference: exact, numeric, choice, regex, json.

Each scorer is a pure function of the answer text and the reference, returning 1.0 or
0.0, so an eval set scored twice scores the same. What counts as "the same answer" is
deliberately forgiving about form (case, spacing, thousands separators, a trailing
period, code fences around JSON) and strict about content.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

AnswerScorer = Callable[[str, str | None], float]
"""(answer text, reference or None) -> score in [0, 1]."""

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_FINAL_MARK = re.compile(r"####\s*(" + _NUMBER.pattern + ")")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)
_LETTERS = "A-J"
# Most explicit first: "answer is (B)", a reply that is only a letter, "B) ..." / "B. ...",
# then the last letter in parentheses.
_CHOICE_PATTERNS = (
    re.compile(rf"\banswer\b\W{{0,3}}(?:is\W{{0,3}})?\(?([{_LETTERS}])\b", re.IGNORECASE),
    re.compile(rf"^\W*([{_LETTERS}])\W*$"),
    re.compile(rf"^\s*\(?([{_LETTERS}])[).:]\s"),
    re.compile(rf"\(([{_LETTERS}])\)"),
)


def normalised(text: str) -> str:
    """Case, spacing and surrounding quotes or a final period do not change an answer."""
    return " ".join(text.split()).casefold().strip(" .\"'`")


def exact(answer: str, reference: str | None) -> float:
    """1.0 when the answer equals the reference, up to case, spacing and a final period."""
    return float(normalised(answer) == normalised(_needed(reference)))


def final_number(text: str) -> float | None:
    """The answer's number: the one after ``####`` (GSM8K style), else the last one."""
    marked = _FINAL_MARK.search(text)
    found = marked.group(1) if marked else (_NUMBER.findall(text) or [None])[-1]
    if found is None:
        return None
    try:
        return float(found.replace(",", ""))
    except ValueError:
        return None


def numeric(answer: str, reference: str | None) -> float:
    """1.0 when the answer's final number equals the reference's (relative tolerance 1e-6)."""
    expected, given = final_number(_needed(reference)), final_number(answer)
    if expected is None or given is None:
        return 0.0
    return float(math.isclose(given, expected, rel_tol=1e-6, abs_tol=1e-9))


def chosen_letter(text: str) -> str | None:
    """The multiple-choice letter (A-J) an answer picks, or None when it picks none."""
    for pattern in _CHOICE_PATTERNS:
        matches = pattern.findall(text.strip())
        if matches:
            return str(matches[-1]).upper()
    return None


def choice(answer: str, reference: str | None) -> float:
    """1.0 when the answer picks the reference's letter."""
    expected = chosen_letter(_needed(reference))
    return float(expected is not None and chosen_letter(answer) == expected)


def parse_json_answer(text: str) -> Any:
    """The JSON value of an answer, fences (```json ... ```) removed; raises ValueError."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    return json.loads(fenced.group(1) if fenced else stripped)


def json_equal(answer: str, reference: str | None) -> float:
    """1.0 when the answer parses as JSON equal to the reference's JSON."""
    expected = parse_json_answer(_needed(reference))
    try:
        return float(parse_json_answer(answer) == expected)
    except ValueError:
        return 0.0


def regex_scorer(pattern: re.Pattern[str]) -> AnswerScorer:
    """Match ``pattern``; with a group and a reference, the group must equal the reference."""

    def score(answer: str, reference: str | None) -> float:
        match = pattern.search(answer)
        if match is None:
            return 0.0
        if pattern.groups and reference is not None:
            return float(normalised(match.group(1) or "") == normalised(reference))
        return 1.0

    return score


def _needed(reference: str | None) -> str:
    if reference is None:  # the prompts reader checks every line first; a guard for callers
        raise ValueError("this scorer needs a reference answer")
    return reference
