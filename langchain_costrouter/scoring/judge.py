"""An LLM judge as pure prompts and verdicts: the caller makes the calls and pays for them.

Pairwise: the judge compares a candidate answer with a yardstick answer (the strongest
model's in ``collect``, the reference model's in shadow evaluation) twice, once in each
order, because judges favour the answer shown first. In each order the candidate counts
1 when judged at least as good as the yardstick, so its score is 0, 0.5 or 1, and the
yardstick itself scores 1: quality is measured relative to the yardstick.

Graded: with a reference answer, the judge rates the candidate against it from 1 to 10,
rescaled to [0, 1].

Sans-I/O, so the async ``collect`` and the threaded shadow worker share it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, get_buffer_string

from langchain_costrouter.checks.judge import parse_judge_score

_SYSTEM = (
    "You are a strict, impartial judge of AI assistants' answers. Judge correctness "
    "first, then whether the answer does what was asked, in the requested format. "
    "Ignore length and style unless the question asks for them."
)
_PAIRWISE = (
    "Conversation so far:\n{conversation}\n\n[Answer A]\n{first}\n[End of answer A]\n\n"
    "[Answer B]\n{second}\n[End of answer B]\n\nWhich answer to the last message is "
    "better? Explain in at most two sentences, then give your verdict in exactly this "
    "form: [[A]] if A is better, [[B]] if B is better, [[C]] for a tie."
)
_GRADED = (
    "Conversation so far:\n{conversation}\n\n[Reference answer]\n{reference}\n"
    "[End of reference answer]\n\n[Candidate answer]\n{candidate}\n[End of candidate "
    "answer]\n\nRate how correct and complete the candidate is, taking the reference as "
    "right, from 1 (wrong) to 10 (as good as the reference). Explain in at most two "
    "sentences, then end with exactly: Rating: [[N]]"
)
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")


@dataclass(frozen=True)
class PairwisePrompts:
    """The two judge requests for one candidate: candidate first, then yardstick first."""

    candidate_first: list[BaseMessage]
    yardstick_first: list[BaseMessage]


def pairwise_prompts(
    conversation: Sequence[BaseMessage], candidate: str, yardstick: str
) -> PairwisePrompts:
    """The judge's requests comparing ``candidate`` with ``yardstick`` in both orders."""
    text = get_buffer_string(list(conversation))

    def ask(first: str, second: str) -> list[BaseMessage]:
        body = _PAIRWISE.format(conversation=text, first=first, second=second)
        return [SystemMessage(content=_SYSTEM), HumanMessage(content=body)]

    return PairwisePrompts(ask(candidate, yardstick), ask(yardstick, candidate))


def verdict(reply: str) -> str | None:
    """The judge's last ``[[A]]``/``[[B]]``/``[[C]]``, or None when it gave none."""
    found = _VERDICT.findall(reply)
    return found[-1] if found else None


def pairwise_score(candidate_first_reply: str, yardstick_first_reply: str) -> float | None:
    """The candidate's score from both verdicts (0, 0.5 or 1); None if a verdict is missing.

    In each order the candidate counts 1 when it wins or ties.
    """
    first, second = verdict(candidate_first_reply), verdict(yardstick_first_reply)
    if first is None or second is None:
        return None
    return ((first in "AC") + (second in "BC")) / 2


def graded_prompt(
    conversation: Sequence[BaseMessage], candidate: str, reference: str
) -> list[BaseMessage]:
    """The judge's request rating ``candidate`` against the reference answer."""
    body = _GRADED.format(
        conversation=get_buffer_string(list(conversation)),
        reference=reference,
        candidate=candidate,
    )
    return [SystemMessage(content=_SYSTEM), HumanMessage(content=body)]


def graded_score(reply: str) -> float | None:
    """The rating rescaled to [0, 1], or None when the judge gave no valid rating."""
    return parse_judge_score(reply, 1.0, 10.0)
