"""A cheap chat model grades the candidate answer (LLM-as-a-judge).

The judge is a paid call, so its reply travels back in `CheckResult.cost_messages`
and the cascade records it as an attempt in the ledger. It is invoked as its own,
visible run (tagged ``costrouter:judge``) rather than inlined, so traces show what
the judge was asked and answered. A judge whose model fails raises here; in a
cascade the answer then counts as unverified, and the call escalates (a transient
fault) or raises a `ProviderError` naming the judge (a fatal one), the judge's failed
call recorded either way (`router/_judge_faults.py`, `judge_failed`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, get_buffer_string
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig

from langchain_costrouter.checks.base import BaseCheck, CheckResult
from langchain_costrouter.checks.text import answer_text

JUDGE_VARIABLES = frozenset({"conversation", "question", "answer", "previous"})

DEFAULT_JUDGE_PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You are a strict, impartial grader of an AI assistant's answers. Judge "
            "correctness first, then whether the answer does what was asked, in the "
            "requested format. A refusal or an evasive answer is rated 1.",
        ),
        (
            "human",
            "Conversation so far:\n{conversation}\n\nCandidate answer to its last message:\n"
            "{answer}\n\nRate the candidate answer from 1 (wrong or useless) to 10 (fully "
            "correct and complete). Explain in at most two sentences, then end with the "
            "rating in exactly this form: Rating: [[N]]",
        ),
    ]
)

_NUM = r"(\d+(?:\.\d+)?)"
# Most explicit first: the bracketed form the default prompt (and MT-Bench) asks for,
# then a labelled score, then "N/10"; a bare number only when it is the whole reply.
_SCORE_PATTERNS = (
    re.compile(rf"\[\[\s*{_NUM}\s*\]\]"),
    re.compile(rf"\b(?:rating|score|grade)\b[\s*:=]*(?:is|of)?[\s*:=\[]*{_NUM}", re.IGNORECASE),
    re.compile(rf"{_NUM}\s*(?:/|out\s+of)\s*\d+", re.IGNORECASE),
    re.compile(rf"^\W*{_NUM}\W*$"),
)


def parse_judge_score(reply: str, low: float = 1.0, high: float = 10.0) -> float | None:
    """The judge's rating rescaled to [0, 1], or None when the reply gives no valid one.

    The last match of the most explicit pattern wins, because judges reason first
    and rate last. A rating outside [low, high] counts as no rating.
    """
    for pattern in _SCORE_PATTERNS:
        matches = pattern.findall(reply)
        if matches:
            rating = float(matches[-1])
            return (rating - low) / (high - low) if low <= rating <= high else None
    return None


class JudgeCheck(BaseCheck):
    """Asks a chat model to rate the answer, and scores the rating rescaled to [0, 1]."""

    def __init__(
        self,
        llm: BaseChatModel,
        prompt: ChatPromptTemplate | str | None = None,
        *,
        scale: tuple[float, float] = (1.0, 10.0),
        name: str = "judge",
    ) -> None:
        """Create the check.

        Args:
            llm: The judge, typically the cheapest capable model.
            prompt: A chat prompt (or a template string for one human message) using
                any of the variables ``conversation``, ``question``, ``answer`` and
                ``previous`` (the previous tier's answer, or ""). It must ask for a
                rating on ``scale``; `DEFAULT_JUDGE_PROMPT` by default.
            scale: The lowest and highest rating the prompt asks for.
            name: Label of the check in ledger reasons.
        """
        template = ChatPromptTemplate.from_template(prompt) if isinstance(prompt, str) else prompt
        self.prompt = template or DEFAULT_JUDGE_PROMPT
        unknown = set(self.prompt.input_variables) - JUDGE_VARIABLES
        if unknown:
            raise ValueError(
                f"Judge prompt uses unknown variables {sorted(unknown)}; "
                f"available: {sorted(JUDGE_VARIABLES)}."
            )
        if not scale[0] < scale[1]:
            raise ValueError(f"A judge scale needs low < high, got {scale!r}.")
        self.llm = llm
        self.scale = scale
        self.name = name

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Ask the judge, then score its rating; its reply is a cost message."""
        reply = self.llm.invoke(self.judge_prompt(messages, answer, previous), self._config())
        return self._result(reply)

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`."""
        request = self.judge_prompt(messages, answer, previous)
        return self._result(await self.llm.ainvoke(request, self._config()))

    def judge_prompt(
        self, messages: Sequence[BaseMessage], answer: AIMessage, previous: Sequence[AIMessage]
    ) -> list[BaseMessage]:
        """What the judge is asked about ``answer``: a cascade cancelled while the judge
        answers bills this prompt, as the provider does (`router/_attempts.py`)."""
        questions = [m for m in messages if isinstance(m, HumanMessage)]
        values = {
            "conversation": get_buffer_string(messages),
            "question": questions[-1].text if questions else "",
            "answer": answer_text(answer),
            "previous": answer_text(previous[-1]) if previous else "",
        }
        wanted = set(self.prompt.input_variables)
        return self.prompt.format_messages(**{k: v for k, v in values.items() if k in wanted})

    def _config(self) -> RunnableConfig:
        return {"run_name": f"costrouter_{self.name}", "tags": ["costrouter:judge"]}

    def _result(self, reply: AIMessage) -> CheckResult:
        text = answer_text(reply)
        score = parse_judge_score(text, *self.scale)
        if score is None:
            return CheckResult(0.0, f"judge gave no rating: {text.strip()[-80:]!r}", (reply,))
        return CheckResult(score, f"judge rated {score:.2f}", (reply,))
