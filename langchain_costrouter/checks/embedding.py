"""Semantic closeness of the answer to known-good (gold) answers, with any `Embeddings`.

Useful when a task has a set of reference answers (an FAQ, an eval set) and
wording may vary. The score is the best cosine similarity to a gold answer, with
negative similarity read as 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.checks.base import BaseCheck, CheckResult
from langchain_costrouter.checks.text import answer_text

GoldLookup = Callable[[Sequence[BaseMessage]], Sequence[str]]


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of the angle between two vectors; 0 when either is all zeros."""
    norms = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


class EmbeddingSimilarity(BaseCheck):
    """Scores the best cosine similarity between the answer and the gold answers.

    Gold vectors are remembered per text on the instance, so a fixed gold set is
    embedded once, not on every request; each check then costs one embedding call
    for the answer (plus any gold text not seen before, in the same call).
    """

    def __init__(
        self,
        embeddings: Embeddings,
        gold: Sequence[str] | GoldLookup,
        *,
        when_no_gold: float = 0.0,
        name: str = "embedding_similarity",
    ) -> None:
        """Create the check.

        Args:
            embeddings: Any LangChain `Embeddings`.
            gold: The gold answers, or a function giving the gold answers of a
                request's messages (e.g. a lookup in an eval set).
            when_no_gold: Score when a request has no gold answer.
            name: Label of the check in ledger reasons.
        """
        if not 0.0 <= when_no_gold <= 1.0:
            raise ValueError(f"when_no_gold must be in [0, 1], got {when_no_gold!r}.")
        self.embeddings = embeddings
        self.gold = gold
        self.when_no_gold = when_no_gold
        self.name = name
        self._gold_vectors: dict[str, list[float]] = {}

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Embed the answer (and unseen gold answers), then score the best similarity."""
        gold, text, early = self._prepare(messages, answer)
        if early is not None:
            return early
        to_embed = [text, *self._unseen(gold)]
        return self._result(gold, self.embeddings.embed_documents(to_embed), to_embed)

    async def aevaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Async twin of `evaluate`."""
        gold, text, early = self._prepare(messages, answer)
        if early is not None:
            return early
        to_embed = [text, *self._unseen(gold)]
        return self._result(gold, await self.embeddings.aembed_documents(to_embed), to_embed)

    def _prepare(
        self, messages: Sequence[BaseMessage], answer: AIMessage
    ) -> tuple[list[str], str, CheckResult | None]:
        gold = list(self.gold(messages) if callable(self.gold) else self.gold)
        text = answer_text(answer).strip()
        if not gold:
            return gold, text, CheckResult(self.when_no_gold, "no gold answer for this request")
        if not text:
            return gold, text, CheckResult(0.0, "empty answer")
        return gold, text, None

    def _unseen(self, gold: list[str]) -> list[str]:
        return list(dict.fromkeys(g for g in gold if g not in self._gold_vectors))

    def _result(
        self, gold: list[str], vectors: list[list[float]], embedded: list[str]
    ) -> CheckResult:
        self._gold_vectors.update(zip(embedded[1:], vectors[1:], strict=True))
        similarities = [cosine_similarity(vectors[0], self._gold_vectors[g]) for g in gold]
        best = max(range(len(gold)), key=similarities.__getitem__)
        score = min(1.0, max(0.0, similarities[best]))
        return CheckResult(score, f"cosine {similarities[best]:.3f} to gold {gold[best][:40]!r}")
