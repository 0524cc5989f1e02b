"""What to say of a key no table knows: the known name it is closest to.

A typo in a config file or an argument must not pass silently, and the message that
refuses it names the key the user most likely meant (``limt_usd`` -> ``limit_usd``),
first among pydantic's problems when it misspells a required key reported missing.
The messages go into a `ConfigError` (errors.py); the config readers build them here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T", bound=Mapping[str, Any])


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``did you mean `max_cost_usd`? `` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`? " if close else ""


def unknown_key_message(name: str, known: Iterable[str]) -> str:
    """``unknown key; did you mean `max_cost_usd`? ...``: a typo must not pass silently."""
    choices = sorted(known)
    return f"unknown key; {did_you_mean(name, choices)}known keys: {', '.join(choices) or '(none)'}"


def unknown_key_first(problems: list[T]) -> list[T]:
    """Pydantic's problems, an unknown key that is a missing required key misspelt first.

    ``[route]`` for ``[routes]``, ``limt_usd`` for ``limit_usd``: pydantic reports the
    required key missing first, which sends the reader looking for a key that is there
    under another name. ``problems`` are pydantic's ``ErrorDetails``.
    """
    missing = _missing_keys(problems)
    for problem in problems:
        if problem["type"] == "extra_forbidden" and _misspelt(problem["loc"], missing):
            return [problem, *(p for p in problems if p is not problem)]
    return problems


def unknown_key_problem_message(problem: Any, problems: list[Any], known: Iterable[str]) -> str:
    """The message of an unknown key, saying which required key it misspells if any."""
    name = str(problem["loc"][-1])
    required = _misspelt(problem["loc"], _missing_keys(problems))
    if required is None:
        return unknown_key_message(name, known)
    return (
        f"unknown key; did you mean `{required}`? (`{required}` is required and missing) "
        f"known keys: {', '.join(sorted(known))}"
    )


def _missing_keys(problems: Iterable[Any]) -> set[tuple[Any, ...]]:
    return {tuple(p["loc"]) for p in problems if p["type"] == "missing"}


def _misspelt(loc: tuple[Any, ...], missing: set[tuple[Any, ...]]) -> str | None:
    """The missing sibling key that ``loc``'s unknown key is closest to, if any."""
    siblings = [str(m[-1]) for m in missing if m[:-1] == tuple(loc[:-1])]
    close = difflib.get_close_matches(str(loc[-1]), siblings, n=1, cutoff=0.6)
    return close[0] if close else None


__all__ = [
    "did_you_mean",
    "unknown_key_first",
    "unknown_key_message",
    "unknown_key_problem_message",
]
