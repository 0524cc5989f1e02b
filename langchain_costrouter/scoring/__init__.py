"""How an answer is scored, shared by ``costrouter collect`` and shadow evaluation.

A scorer is named on the command line or in the config: ``exact``, ``numeric``,
``choice``, ``regex:PATTERN``, ``json`` (deterministic, against a reference answer) or
``judge:MODEL`` (an LLM judge: pairwise against a yardstick answer, or graded against
a reference). `parse_scorer` turns the name into a `Scorer`; a bad name is a
`ConfigError` listing the valid ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.scoring.answers import (
    AnswerScorer,
    choice,
    exact,
    json_equal,
    numeric,
    parse_json_answer,
    regex_scorer,
)

SCORER_NAMES = ("exact", "numeric", "choice", "regex:PATTERN", "json", "judge:MODEL")
_FIXED: dict[str, AnswerScorer] = {
    "exact": exact,
    "numeric": numeric,
    "choice": choice,
    "json": json_equal,
}


@dataclass(frozen=True)
class Scorer:
    """A parsed scorer: a deterministic function, or the model of an LLM judge."""

    name: str
    """As the user wrote it, e.g. ``regex:^\\d+$`` or ``judge:gpt-4o-mini``."""
    score_answer: AnswerScorer | None = None
    judge_model: str | None = None
    needs_reference: bool = False

    def check_reference(self, reference: str | None) -> str | None:
        """Why ``reference`` cannot be scored against (None when it can)."""
        if reference is None:
            return (
                f"the {self.name} scorer needs a 'reference' answer"
                if self.needs_reference
                else None
            )
        if self.score_answer is json_equal:
            try:
                parse_json_answer(reference)
            except ValueError as error:
                return f"the json scorer needs a JSON 'reference', got {reference!r:.60} ({error})"
        return None


def parse_scorer(text: str) -> Scorer:
    """The scorer named ``text``; a ConfigError naming the valid forms otherwise."""
    if text in _FIXED:
        return Scorer(text, score_answer=_FIXED[text], needs_reference=True)
    kind, _, argument = text.partition(":")
    if kind == "judge" and argument:
        return Scorer(text, judge_model=argument)
    if kind == "regex" and argument:
        try:
            pattern = re.compile(argument)
        except re.error as error:
            raise ConfigError(f"--score {text}: not a valid regular expression ({error})") from None
        return Scorer(text, score_answer=regex_scorer(pattern))
    raise ConfigError(f"--score {text!r}: expected one of {', '.join(SCORER_NAMES)}")


__all__ = ["SCORER_NAMES", "AnswerScorer", "Scorer", "parse_scorer"]
