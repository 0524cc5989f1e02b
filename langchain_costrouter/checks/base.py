"""The quality-check protocol the cascade uses to accept or escalate an answer.

A check looks only at what a live system sees: the request messages, the candidate
answer and the answers of the tiers tried before it. It returns a score in [0, 1];
the route's tier threshold turns the score into accept or escalate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from langchain_core.messages import AIMessage, BaseMessage


@runtime_checkable
class QualityCheck(Protocol):
    """Scores a candidate answer in [0, 1]; sync and async."""

    name: str

    def score(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> float:
        """Score ``answer`` to ``messages``; ``previous`` are lower tiers' answers."""
        ...

    async def ascore(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> float:
        """Async twin of `score`."""
        ...
