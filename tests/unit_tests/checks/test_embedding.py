from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_costrouter.checks import EmbeddingSimilarity, cosine_similarity

QUESTION = [HumanMessage("What is the refund window?")]
GOLD = ["Refunds are accepted within 30 days.", "You can return items for 30 days."]


class CountingEmbedding(DeterministicFakeEmbedding):
    """Counts the texts it embeds; fails if an async check takes the sync path."""

    embedded: list[str] = []
    forbid_sync: bool = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        assert not self.forbid_sync, "the async check must not call the sync path"
        self.embedded.extend(texts)
        return super().embed_documents(texts)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self._get_embedding(seed=self._get_seed(text)) for text in texts]


def test_cosine_similarity() -> None:
    assert cosine_similarity([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert cosine_similarity([1.0, 0.0], [0.0, 3.0]) == pytest.approx(0.0)
    assert cosine_similarity([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(-1.0)
    assert cosine_similarity([0.0, 0.0], [1.0, 0.0]) == 0.0


def test_an_answer_equal_to_a_gold_answer_scores_one() -> None:
    check = EmbeddingSimilarity(DeterministicFakeEmbedding(size=256), GOLD)
    result = check.evaluate(QUESTION, AIMessage(GOLD[1]))
    assert result.score == pytest.approx(1.0)
    assert "You can return" in result.reason


def test_an_unrelated_answer_scores_low() -> None:
    check = EmbeddingSimilarity(DeterministicFakeEmbedding(size=256), GOLD)
    assert check.evaluate(QUESTION, AIMessage("Our office is in Berlin.")).score < 0.3


def test_gold_vectors_are_embedded_once() -> None:
    embeddings = CountingEmbedding(size=16, embedded=[])
    check = EmbeddingSimilarity(embeddings, GOLD)
    check.evaluate(QUESTION, AIMessage("first"))
    check.evaluate(QUESTION, AIMessage("second"))
    assert embeddings.embedded == ["first", *GOLD, "second"]


async def test_async_path_uses_async_embeddings() -> None:
    embeddings = CountingEmbedding(size=64, embedded=[], forbid_sync=True)
    result = await EmbeddingSimilarity(embeddings, GOLD).aevaluate(QUESTION, AIMessage(GOLD[0]))
    assert result.score == pytest.approx(1.0)
    assert embeddings.embedded == [GOLD[0], *GOLD]


def test_gold_lookup_per_request() -> None:
    answers = {"What is the refund window?": ["30 days"]}

    def lookup(messages: Sequence[BaseMessage]) -> list[str]:
        return answers.get(messages[-1].text, [])

    check = EmbeddingSimilarity(DeterministicFakeEmbedding(size=64), lookup, when_no_gold=0.5)
    assert check.evaluate(QUESTION, AIMessage("30 days")).score == pytest.approx(1.0)
    other = check.evaluate([HumanMessage("Where are you?")], AIMessage("Berlin"))
    assert other.score == 0.5
    assert other.reason == "no gold answer for this request"


def test_empty_answer_scores_zero_without_embedding() -> None:
    embeddings = CountingEmbedding(size=16, embedded=[])
    assert EmbeddingSimilarity(embeddings, GOLD).evaluate(QUESTION, AIMessage(" ")).score == 0.0
    assert embeddings.embedded == []
