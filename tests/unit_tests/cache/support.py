"""Shared pieces of the cache tests: requests, answers, a counted provider call."""

from __future__ import annotations

import re
import sys
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from langchain_core.caches import BaseCache
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from langchain_costrouter.cache import (
    CacheBackend,
    CacheRequest,
    ResponseCache,
    SemanticLayer,
    open_backend,
    open_cache,
)
from langchain_costrouter.testing import ScriptedChatModel


def request(text: str = "What is the capital of France?", **overrides: object) -> CacheRequest:
    fields: dict[str, object] = {
        "messages": [SystemMessage("Answer briefly."), HumanMessage(text)],
        "task": "chat",
        "namespace": "tenant-a",
        "params": {"temperature": 0.0, "max_tokens": 50},
        "policy_version": "1",
    }
    fields.update(overrides)
    return CacheRequest(**fields)  # type: ignore[arg-type]


def answer(text: str = "Paris.") -> AIMessage:
    return AIMessage(
        content=text,
        response_metadata={"model_name": "small", "finish_reason": "stop"},
        usage_metadata={"input_tokens": 12, "output_tokens": 2, "total_tokens": 14},
    )


def cached_or_called(cache: ResponseCache, req: CacheRequest, counter: Path) -> AIMessage:
    """The router's pattern: lookup, coalesce, look up again, call and store once."""
    hit = cache.lookup(req)
    if hit is not None:
        return hit
    with cache.coalesce(req):
        hit = cache.lookup(req)
        if hit is not None:
            return hit
        message = counted_call(counter)
        cache.store(req, message)
        return message


def counted_call(counter: Path, latency: float = 0.3) -> AIMessage:
    """A slow "provider call" that appends one byte to a file shared by processes."""
    with counter.open("ab") as handle:
        handle.write(b"x")
    time.sleep(latency)
    return answer()


def calls(counter: Path) -> int:
    return counter.stat().st_size if counter.exists() else 0


def process_worker(url: str, counter: str, start_at: float, threads: int) -> int:
    """One of several processes: ``threads`` identical requests at the same instant."""
    cache = open_cache(url)
    time.sleep(max(0.0, start_at - time.time()))
    req = request()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(threads) as pool:
            results = list(
                pool.map(lambda _: cached_or_called(cache, req, Path(counter)), range(threads))
            )
    cache.close()
    for warning in caught:  # a tripped backend guard explains a failed coalescing test
        print(f"worker warning: {warning.message}", file=sys.stderr)
    return sum(r.text == "Paris." for r in results)


def key_in_fresh_process(text: str) -> str:
    """Computed in another interpreter: keys must not depend on the process."""
    return request(text, params={"temperature": 0.5, "tools": [_Weather]}).key


_TOKEN = re.compile(r"\w+")


class BagOfWordsEmbeddings(Embeddings):
    """Deterministic embeddings where texts sharing words are close (a real Embeddings)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.calls = 0

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        vector = [0.0] * self.size
        for word in _TOKEN.findall(text.lower()):
            vector[zlib.crc32(word.encode()) % self.size] += 1.0
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]


class _Weather(BaseModel):
    """Get the weather for a city."""

    city: str


def tool_calling_model(cache: BaseCache) -> ScriptedChatModel:
    """A plain in-process chat model behind ``cache``: a fixed tool-calling answer."""
    message = AIMessage(
        "Calling a tool.",
        tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1"}],
        usage_metadata={"input_tokens": 9, "output_tokens": 3, "total_tokens": 12},
    )
    return ScriptedChatModel(answers=[message], cache=cache)


_STREETS = ("harbour", "market", "castle", "mill", "river", "station", "church", "garden")
_TOWNS = ("Leeds", "York", "Bath", "Hull", "Ely", "Wells", "Truro", "Ripon", "Derby")


def shop_question(n: int) -> str:
    """A templated question: every one is close to many others, the number tells them apart."""
    street, town = _STREETS[n % len(_STREETS)], _TOWNS[n // len(_STREETS) % len(_TOWNS)]
    return f"What is the opening time of shop number {n} on {street} street in {town}?"


def shop_answer(n: int) -> AIMessage:
    return answer(f"Shop {n} opens at nine.")


def semantic_cache(store: str | CacheBackend, size: int = 128) -> ResponseCache:
    """A cache with a semantic layer on bag-of-words vectors of ``size`` dimensions."""
    backend = open_backend(store)[0] if isinstance(store, str) else store
    layer = SemanticLayer(BagOfWordsEmbeddings(size), threshold=0.8)
    return ResponseCache(backend, semantic=layer)


def fill_shops(cache: ResponseCache, numbers: range) -> None:
    for n in numbers:
        cache.store(request(shop_question(n)), shop_answer(n))


def lookup_shops_in_fresh_process(url: str, numbers: list[int], size: int) -> list[str | None]:
    """A new process's first lookups (run in a spawned child): the answer texts or None."""
    cache = semantic_cache(url, size)
    hits = [cache.lookup(request("Tell me: " + shop_question(n))) for n in numbers]
    return [None if hit is None else hit.text for hit in hits]


def fill_shops_in_fresh_process(url: str, start: int, stop: int, size: int) -> None:
    """Another process appends entries (run in a spawned child)."""
    fill_shops(semantic_cache(url, size), range(start, stop))


def exact_only_round_trip(url: str, count: int, size: int) -> tuple[str | None, bool]:
    """In a child without the [ann] extra: fill, merge, look up; (answer, base has a graph)."""
    sys.modules["usearch"] = None  # type: ignore[assignment]  # as if never installed
    from langchain_costrouter.cache.semantic_home import home_for

    fill_shops(semantic_cache(url, size), range(count))
    reader = semantic_cache(url, size)
    question = request("Tell me: " + shop_question(count // 2))
    reader.lookup(question)
    assert reader.wait_for_semantic_index(120)
    hit = reader.lookup(question)
    assert reader.semantic is not None
    partition = reader.semantic.partition(question, reader.normalization_for(question))
    base = home_for(reader.backend).load(partition)
    graphs = base is not None and any(g.graph is not None for g in base.groups.values())
    return (None if hit is None else hit.text), graphs
