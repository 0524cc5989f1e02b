"""A per-answer summary of token log-probabilities, and where a chat message carries one.

A model's confidence in its own tokens is a cheap signal of whether an answer is
right: an answer whose least likely token was a coin flip is more often wrong. The
outcomes format (docs/architecture.md 2.3) records only a summary of an answer's
token log-probabilities, the mean and the minimum, because that is what the learned
scorer reads and because whole token lists would make the files many times larger.

At request time the same summary is read from the answer message. OpenAI-compatible
providers return the token list in ``response_metadata["logprobs"]`` when asked
(``ChatOpenAI(logprobs=True)``); `ReplayChatModel` replays a recorded summary under
``response_metadata["logprob_summary"]``. A message with neither has no summary:
the scorer treats that as missing, never as zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SUMMARY_KEY = "logprob_summary"
"""The ``response_metadata`` key of a summary replayed from recorded outcomes."""


@dataclass(frozen=True)
class LogprobSummary:
    """Mean and minimum of an answer's token log-probabilities (natural log, <= 0)."""

    mean: float
    min: float
    tokens: int

    def to_json(self) -> dict[str, Any]:
        """The outcomes file's ``logprobs`` object."""
        return {"mean": _round(self.mean), "min": _round(self.min), "tokens": self.tokens}

    @classmethod
    def from_json(cls, value: Any) -> LogprobSummary:
        """Parse a ``logprobs`` object; a ValueError says what is wrong with it."""
        if not isinstance(value, Mapping):
            raise ValueError(f"must be an object {{mean, min, tokens}}, got {value!r}")
        mean = _log_probability(value, "mean")
        low = _log_probability(value, "min")
        tokens = value.get("tokens")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
            raise ValueError(f"tokens must be an integer >= 1, got {tokens!r}")
        if low > mean:
            raise ValueError(f"min ({low}) must not exceed mean ({mean})")
        return cls(mean=mean, min=low, tokens=tokens)


def summarize(token_logprobs: Sequence[float]) -> LogprobSummary | None:
    """The summary of a list of token log-probabilities; None for an empty or broken list."""
    values = [float(v) for v in token_logprobs if _is_number(v)]
    if not values or len(values) != len(token_logprobs):
        return None
    values = [min(v, 0.0) for v in values]
    return LogprobSummary(mean=sum(values) / len(values), min=min(values), tokens=len(values))


def message_logprobs(message: Any) -> LogprobSummary | None:
    """The summary a chat message carries, or None when it carries none.

    Reads the provider's token list (OpenAI's ``{"content": [{"logprob": ...}, ...]}``)
    first, then a replayed summary. Anything else (no metadata, a provider that
    returns no log-probabilities, a malformed list) is None.
    """
    metadata = getattr(message, "response_metadata", None)
    if not isinstance(metadata, Mapping):
        return None
    raw = metadata.get("logprobs")
    content = raw.get("content") if isinstance(raw, Mapping) else None
    if isinstance(content, list) and content:
        tokens = [item.get("logprob") if isinstance(item, Mapping) else None for item in content]
        return summarize(tokens)  # type: ignore[arg-type]
    recorded = metadata.get(SUMMARY_KEY)
    if recorded is None:
        return None
    try:
        return LogprobSummary.from_json(recorded)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _log_probability(value: Mapping[str, Any], key: str) -> float:
    number: Any = value.get(key)
    if not _is_number(number) or number > 0.0:
        raise ValueError(f"{key} must be a finite number <= 0, got {number!r}")
    return float(number)


def _round(value: float) -> float:
    return float(f"{value:.6g}")
