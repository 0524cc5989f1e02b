"""The semantic layer: near-identical prompts hit, near misses and other tenants don't."""

from __future__ import annotations

import time

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_costrouter.cache import (
    LENIENT,
    CacheRequest,
    MemoryBackend,
    ResponseCache,
    SemanticLayer,
)
from langchain_costrouter.errors import ConfigError
from tests.unit_tests.cache.support import BagOfWordsEmbeddings, answer, request


def semantic_cache(**layer_options: object) -> tuple[ResponseCache, BagOfWordsEmbeddings]:
    embeddings = BagOfWordsEmbeddings()
    layer = SemanticLayer(embeddings, **{"threshold": 0.8, **layer_options})  # type: ignore[arg-type]
    return ResponseCache(MemoryBackend(), semantic=layer, normalization=LENIENT), embeddings


def test_a_rephrased_question_hits() -> None:
    cache, _ = semantic_cache()
    cache.store(request("What is the capital city of France?"), answer())
    hit = cache.lookup_hit(request("what is the capital city of France"))
    assert hit is not None
    assert hit.message == answer()
    hit = cache.lookup_hit(request("Tell me: what is the capital city of France?"))
    assert hit is not None
    assert hit.kind == "semantic"
    assert 0.8 <= hit.similarity < 1


@pytest.mark.parametrize(
    "near_miss",
    [
        "Tell me: what is the capital city of Germany?",
        "Tell me: what is not the capital city of France?",
    ],
)
def test_near_misses_are_rejected_by_the_guard(near_miss: str) -> None:
    cache, _ = semantic_cache(threshold=0.5)
    cache.store(request("Tell me: what is the capital city of France?"), answer())
    assert cache.lookup(request(near_miss)) is None


def test_partitions_are_hard() -> None:
    cache, _ = semantic_cache(threshold=0.5)
    cache.store(request("What is the capital city of France?"), answer())
    assert (
        cache.lookup(request("Tell me what is the capital city of France?", namespace="b")) is None
    )
    assert cache.lookup(request("Tell me what is the capital city of France?", task="code")) is None
    params = {"temperature": 0.9}
    assert (
        cache.lookup(request("Tell me what is the capital city of France?", params=params)) is None
    )


def _image_question(url: str) -> CacheRequest:
    question: list[str | dict[str, object]] = [
        {"type": "text", "text": "What is shown in this picture?"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    return request(messages=[SystemMessage("Answer briefly."), HumanMessage(question)])


def test_only_the_text_of_a_question_is_compared_so_anything_else_must_match_exactly() -> None:
    cache, _ = semantic_cache(threshold=0.5)
    cache.store(_image_question("https://example.com/cat.png"), answer("A cat."))
    assert cache.lookup(_image_question("https://example.com/invoice.png")) is None
    assert cache.lookup(_image_question("https://example.com/cat.png")) == answer("A cat.")
    alice = [SystemMessage("Answer briefly."), HumanMessage("What is my balance?", name="alice")]
    cache.store(request(messages=alice), answer("$5"))
    bob = [SystemMessage("Answer briefly."), HumanMessage("What is my balance?", name="bob")]
    assert cache.lookup(request(messages=bob)) is None
    blocks = HumanMessage(
        [{"type": "text", "text": "Tell me: what is the capital city of France?"}]
    )
    cache.store(request("What is the capital city of France?"), answer())
    hit = cache.lookup_hit(request(messages=[SystemMessage("Answer briefly."), blocks]))
    assert hit is not None and hit.kind == "semantic"  # text blocks are text


def test_tasks_without_threshold_get_no_semantic_matching() -> None:
    cache, embeddings = semantic_cache(threshold={"classification": 0.5})
    cache.store(request("What is the capital city of France?"), answer())
    assert cache.lookup(request("Tell me what is the capital city of France?")) is None
    assert embeddings.calls == 0


async def test_async_semantic_lookup_embeds_once_per_miss() -> None:
    cache, embeddings = semantic_cache()
    await cache.astore(request("What is the capital city of France?"), answer())
    assert await cache.alookup(request("Tell me: what is the capital city of France?")) == answer()
    assert await cache.alookup(request("How tall is the Eiffel tower?")) is None
    await cache.astore(request("How tall is the Eiffel tower?"), answer("330 m"))
    assert embeddings.calls == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": "0.95"}, "threshold: got '0.95'"),  # read from an env var or JSON
        ({"threshold": {"faq": "0.9"}}, "threshold\\['faq'\\]: got '0.9'"),
        ({"threshold": 95}, "between 0 and 1"),  # a percentage: never a hit
        ({"threshold": 0.0}, "between 0 and 1"),
        ({"threshold": float("nan")}, "between 0 and 1"),
        ({"threshold": True}, "got True"),
        ({"threshold": {"faq": 0.9}, "tasks": ["chat"]}, "tasks"),
    ],
)
def test_a_threshold_that_cannot_work_is_refused_when_the_layer_is_made(
    options: dict[str, object], message: str
) -> None:
    # A string threshold used to pass here and fail the router's calls with TypeError
    # from the second call on; a threshold above 1 silently never matched.
    with pytest.raises(ConfigError, match=message):
        SemanticLayer(BagOfWordsEmbeddings(), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("Is 5 greater than 3?", "Tell me: is -5 greater than 3?"),
        ("What is 10 divided by 2?", "Tell me: what is 2 divided by 10?"),
        ("What is 7+4?", "Tell me: what is 7-4?"),
    ],
)
def test_numbers_must_agree_in_sign_order_and_operator(stored: str, asked: str) -> None:
    # The same words and digits, so embeddings rate them alike; the answers differ.
    cache, _ = semantic_cache(threshold=0.5)
    cache.store(request(stored), answer("Yes."))
    assert cache.lookup(request(asked)) is None


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("Book a table for two tonight", "Tell me: book a table for four tonight"),
        ("Book a table for two tonight", "Tell me: book a table for 4 tonight"),
        ("Seats in the second row", "Tell me: seats in the tenth row"),
    ],
)
def test_number_words_must_agree_like_digits(stored: str, asked: str) -> None:
    # The words around the number are the same, so embeddings rate the texts alike.
    cache, _ = semantic_cache(threshold=0.5)
    cache.store(request(stored), answer("Booked."))
    assert cache.lookup(request(asked)) is None


def test_a_number_word_answers_its_digits() -> None:
    cache, _ = semantic_cache(threshold=0.5)
    cache.store(request("Book a table for two tonight"), answer("Booked."))
    hit = cache.lookup_hit(request("Tell me: book a table for 2 tonight"))
    assert hit is not None and hit.kind == "semantic"


def _two_near_entries(backend: MemoryBackend) -> tuple[ResponseCache, ResponseCache]:
    """The nearest entry (short-lived, or evicted) and a second one, both above the
    threshold for "Tell me: what is the capital city of France?"."""
    layer = SemanticLayer(BagOfWordsEmbeddings(), threshold=0.7)
    brief = ResponseCache(backend, semantic=layer, ttl=0.2)
    lasting = ResponseCache(backend, semantic=layer)
    brief.store(request("Tell me what is the capital city of France"), answer("Paris (brief)."))
    lasting.store(request("What is the capital city of France?"), answer())
    return brief, lasting


async def test_a_rejected_nearest_entry_lets_the_next_one_answer() -> None:
    backend = MemoryBackend()
    _, cache = _two_near_entries(backend)
    question = request("Tell me: what is the capital city of France?")
    hit = cache.lookup_hit(question)
    assert hit is not None and hit.message == answer("Paris (brief).")  # the nearest
    time.sleep(0.3)  # the nearest expires: the second nearest still answers
    hit = cache.lookup_hit(question)
    assert hit is not None and hit.kind == "semantic"
    assert hit.message == answer()
    assert await cache.alookup(question) == answer()


def test_an_evicted_nearest_entry_lets_the_next_one_answer() -> None:
    backend = MemoryBackend()
    brief, cache = _two_near_entries(backend)
    backend.delete(brief.key(request("Tell me what is the capital city of France")))
    assert cache.lookup(request("Tell me: what is the capital city of France?")) == answer()
