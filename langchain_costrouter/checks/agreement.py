"""Agreement between the candidate and the previous tier's answer.

Two models that independently reach the same label or number are rarely both
wrong; FrugalGPT and AutoMix use this to accept a cheap answer without a judge.
At the first tier there is nothing to agree with, so the answer is unverified and
scores ``when_alone`` (0 by default: escalate and compare).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Literal

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import BaseCheck, CheckResult
from langchain_costrouter.checks.heuristics import LabelSet
from langchain_costrouter.checks.text import answer_text, last_number, normalise_text

AgreementMode = Literal["text", "number", "label"]


class Agreement(BaseCheck):
    """Scores 1 when the answer says the same as the previous tier's answer, else 0.

    Modes:
        text: the normalised texts are equal ("Yes." equals "yes").
        number: the last numbers are equal ("so she makes $18" equals "#### 18").
        label: both give the same label of ``labels``.
    """

    def __init__(
        self,
        mode: AgreementMode = "text",
        *,
        labels: Iterable[str] | None = None,
        when_alone: float = 0.0,
        name: str = "agreement",
    ) -> None:
        """Create the check.

        Args:
            mode: What "the same" means; see the class docstring.
            labels: The label set, required in "label" mode; answers may explain
                after the label.
            when_alone: Score when there is no previous answer to compare with.
            name: Label of the check in ledger reasons.
        """
        if mode not in ("text", "number", "label"):
            raise ValueError(f"Unknown agreement mode {mode!r}; use text, number or label.")
        if (mode == "label") != (labels is not None):
            raise ValueError("Agreement needs labels in 'label' mode, and only there.")
        if not 0.0 <= when_alone <= 1.0:
            raise ValueError(f"when_alone must be in [0, 1], got {when_alone!r}.")
        self.mode = mode
        self.label_set = LabelSet(labels, allow_explanation=True) if labels is not None else None
        self.when_alone = when_alone
        self.name = name

    def extract(self, text: str) -> str | Decimal | None:
        """What ``text`` says in this mode: its normal form, last number or label."""
        if self.label_set is not None:
            return self.label_set.extract(text)
        if self.mode == "number":
            return last_number(text)
        return normalise_text(text) or None

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score 1 when the answer agrees with ``previous[-1]``, else 0."""
        if not previous:
            return CheckResult(self.when_alone, "no previous answer to compare with")
        mine = self.extract(answer_text(answer))
        theirs = self.extract(answer_text(previous[-1]))
        if mine is None:
            return CheckResult(0.0, f"answer gives no {self.mode}")
        if mine == theirs:
            return CheckResult(1.0, f"agrees on {mine}")
        return CheckResult(0.0, f"{mine} differs from previous {theirs}")
