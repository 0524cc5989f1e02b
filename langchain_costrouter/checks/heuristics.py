"""Free, instant checks on the answer's text: the first line of defence of a cascade.

They cost nothing, so a route should run them before any paid check (a judge):
`AllOf` stops at the first zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import BaseCheck, CheckResult
from langchain_costrouter.checks.refusal import REFUSAL
from langchain_costrouter.checks.text import answer_text, normalise_text

_PASS = CheckResult(1.0, "ok")


class NonEmpty(BaseCheck):
    """Passes an answer with visible text or at least one tool call."""

    def __init__(self, *, name: str = "non_empty") -> None:
        """Create the check; ``name`` labels it in ledger reasons."""
        self.name = name

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 when the answer says something or calls a tool, else 0."""
        if answer_text(answer).strip() or answer.tool_calls:
            return _PASS
        return CheckResult(0.0, "empty answer")


class NotRefusal(BaseCheck):
    """Fails answers that refuse, disclaim ("As an AI...") or were filtered.

    Only the opening ``window`` characters are searched: refusals lead, while a
    caveat deep in a long useful answer ("I can't give legal advice, but...") is no
    reason to pay for a bigger model. Empty answers fail too, since an empty reply
    is the quietest refusal.
    """

    def __init__(self, *, window: int = 400, name: str = "not_refusal") -> None:
        """Create the check.

        Args:
            window: How many leading characters to search for a refusal phrase.
            name: Label of the check in ledger reasons.
        """
        self.window = window
        self.name = name

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 0 for a refusal (with the phrase that gave it away), else 1."""
        if answer.additional_kwargs.get("refusal"):
            return CheckResult(0.0, "refusal: provider refusal field set")
        if answer.response_metadata.get("finish_reason") == "content_filter":
            return CheckResult(0.0, "refusal: content filter")
        text = answer_text(answer)
        if not text.strip() and not answer.tool_calls:
            return CheckResult(0.0, "empty answer")
        # A typographic apostrophe (U+2019) must match the ASCII patterns.
        opening = text[: self.window].replace("\u2019", "'")
        match = REFUSAL.search(opening)
        if match:
            return CheckResult(0.0, f"refusal: {match.group(0)!r}")
        return _PASS


class LengthBounds(BaseCheck):
    """Passes answers whose text length (in characters) lies within bounds."""

    def __init__(
        self, *, min_chars: int = 1, max_chars: int | None = None, name: str = "length"
    ) -> None:
        """Create the check.

        Args:
            min_chars: Shortest acceptable answer; surrounding whitespace is not counted.
            max_chars: Longest acceptable answer, or None for no limit.
            name: Label of the check in ledger reasons.
        """
        if min_chars < 0 or (max_chars is not None and max_chars < min_chars):
            raise ValueError(f"Need 0 <= min_chars <= max_chars, got {min_chars}, {max_chars}.")
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.name = name

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 inside the bounds, else 0 with the measured length."""
        length = len(answer_text(answer).strip())
        if length < self.min_chars:
            return CheckResult(0.0, f"{length} chars, fewer than {self.min_chars}")
        if self.max_chars is not None and length > self.max_chars:
            return CheckResult(0.0, f"{length} chars, more than {self.max_chars}")
        return _PASS


class RegexMatch(BaseCheck):
    """Passes answers matching a regular expression (searched, or whole-text)."""

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        *,
        fullmatch: bool = False,
        flags: int = 0,
        name: str = "regex",
    ) -> None:
        """Create the check.

        Args:
            pattern: The expression; a string is compiled with ``flags``.
            fullmatch: Require the whole (whitespace-stripped) text to match,
                instead of a match anywhere in it.
            flags: `re` flags for a string pattern.
            name: Label of the check in ledger reasons.
        """
        self.pattern = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        self.fullmatch = fullmatch
        self.name = name

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 on a match, else 0."""
        text = answer_text(answer).strip()
        found = self.pattern.fullmatch(text) if self.fullmatch else self.pattern.search(text)
        if found:
            return _PASS
        return CheckResult(0.0, f"no match for /{self.pattern.pattern}/")


class LabelSet(BaseCheck):
    """Passes answers that are one of a fixed set of labels, after normalisation.

    "**Yes.**", "yes" and "Answer: Yes" all read as the label "Yes". With
    ``allow_explanation`` an answer may go on after the label ("No, because..."),
    which many models do even when told not to.
    """

    def __init__(
        self,
        labels: Iterable[str],
        *,
        allow_explanation: bool = False,
        name: str = "label_set",
    ) -> None:
        """Create the check.

        Args:
            labels: The acceptable labels, in their canonical spelling.
            allow_explanation: Accept a label followed by more text after a
                non-word character.
            name: Label of the check in ledger reasons.
        """
        self.labels = tuple(labels)
        if not self.labels or not all(normalise_text(label) for label in self.labels):
            raise ValueError(f"A label set needs non-empty labels, got {self.labels!r}.")
        self.allow_explanation = allow_explanation
        self.name = name
        self._by_key = {normalise_text(label): label for label in self.labels}
        # Longest first, so label "not sure" wins over label "not" as a prefix.
        self._keys_longest_first = sorted(self._by_key, key=len, reverse=True)

    def extract(self, text: str) -> str | None:
        """The canonical label ``text`` gives, or None when it gives none."""
        key = normalise_text(text)
        if key in self._by_key:
            return self._by_key[key]
        if self.allow_explanation:
            for candidate in self._keys_longest_first:
                if re.match(rf"{re.escape(candidate)}(?!\w)", key):
                    return self._by_key[candidate]
        return None

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 when the answer is a label of the set, else 0."""
        text = answer_text(answer)
        label = self.extract(text)
        if label is not None:
            return CheckResult(1.0, f"label {label!r}")
        return CheckResult(0.0, f"{text.strip()[:60]!r} is not one of {list(self.labels)}")
