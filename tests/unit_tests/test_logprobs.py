"""Log-probability summaries: from token lists, from replayed metadata, never invented."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage

from langchain_costrouter.logprobs import (
    SUMMARY_KEY,
    LogprobSummary,
    message_logprobs,
    summarize,
)


def test_summarize_takes_mean_and_min_and_refuses_broken_lists() -> None:
    assert summarize([-0.5, -1.5, 0.0]) == LogprobSummary(mean=-2 / 3, min=-1.5, tokens=3)
    assert summarize([0.25]) == LogprobSummary(0.0, 0.0, 1)  # rounding above 0 is clipped
    assert summarize([]) is None
    assert summarize([-0.5, float("nan")]) is None
    assert summarize([-0.5, None]) is None  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"logprobs": {"content": [{"logprob": -1.0}, {"logprob": -3.0}]}}, (-2.0, -3.0, 2)),
        ({SUMMARY_KEY: {"mean": -0.2, "min": -0.9, "tokens": 5}}, (-0.2, -0.9, 5)),
        ({"logprobs": None}, None),  # ChatOpenAI without logprobs=True
        ({"logprobs": {"content": []}}, None),
        ({"logprobs": {"content": [{"token": "x"}]}}, None),  # a token without its logprob
        ({SUMMARY_KEY: {"mean": 0.5, "min": -0.9, "tokens": 5}}, None),  # not a log-probability
        ({}, None),
    ],
)
def test_message_logprobs(metadata: dict[str, Any], expected: tuple[float, float, int]) -> None:
    summary = message_logprobs(AIMessage("answer", response_metadata=metadata))
    assert summary == (None if expected is None else LogprobSummary(*expected))


def test_a_message_without_metadata_has_no_summary() -> None:
    assert message_logprobs(object()) is None


def test_json_round_trip_rounds_to_six_digits() -> None:
    summary = LogprobSummary(mean=-0.123456789, min=-2.0, tokens=9)
    assert summary.to_json() == {"mean": -0.123457, "min": -2.0, "tokens": 9}
    assert LogprobSummary.from_json(summary.to_json()) == LogprobSummary(-0.123457, -2.0, 9)
