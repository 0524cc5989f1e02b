"""Semantic cache lookups against a partition of many entries, next to an exact hit.

A partition of N cached answers with 1,536-dimension vectors (OpenAI's size). Rows:
  * exact hit: the same request again (the baseline, ratio 1);
  * semantic hit, warm: a rephrased request; the process already holds the partition,
    so the backend is asked for its length only;
  * semantic hit after a new entry: one value appended by another cache since;
  * semantic hit, cold: a new process's first lookup, which reads the whole partition.

Embedding the query is done by a hashing function that costs microseconds, so the
figures are the cache's own cost (a real embeddings call adds its network time).

Run: python bench/semantic.py
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import median_seconds, print_table
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.cache import (
    CacheRequest,
    MemoryBackend,
    ResponseCache,
    SemanticLayer,
    open_backend,
)

DIMENSIONS = 1536
SIZES = (100, 1000)


class HashingEmbeddings(Embeddings):
    """Bag of hashed words in 1,536 dimensions: rephrasings share most coordinates."""

    def embed_query(self, text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for word in text.lower().replace("?", " ").replace(":", " ").split():
            vector[zlib.crc32(word.encode()) % DIMENSIONS] += 1.0
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]


def request(text: str) -> CacheRequest:
    return CacheRequest(messages=[HumanMessage(text)], task="chat")


def question(n: int) -> str:
    return f"What is the opening time of shop number {n} in the old harbour district?"


_MEMORY = MemoryBackend(max_entries=100_000)


def semantic_cache(url: str) -> ResponseCache:
    """A new cache (its own parsed partitions) on the store ``url`` names.

    ``memory://`` is one process's store: every cache here shares one backend, as the
    caches of two processes share a diskcache directory.
    """
    backend = _MEMORY if url == "memory://" else open_backend(url)[0]
    return ResponseCache(backend, semantic=SemanticLayer(HashingEmbeddings(), threshold=0.8))


def fill(url: str, size: int) -> None:
    writer = semantic_cache(url)
    for n in range(size):
        writer.store(request(question(n)), AIMessage(f"Shop {n} opens at nine."))


def measure(url: str, size: int) -> list[list[object]]:
    fill(url, size)
    reader = semantic_cache(url)
    exact = request(question(7))
    rephrased = request("Tell me: " + question(7))
    assert reader.lookup(rephrased) is not None, "the rephrased question must hit"
    writer = semantic_cache(url)
    extra = iter(range(size, size + 10_000))

    def after_new_entry() -> object:
        n = next(extra)
        writer.store(request(question(n)), AIMessage(f"Shop {n} opens at nine."))
        return reader.lookup(rephrased)

    def cold() -> object:
        return semantic_cache(url).lookup(rephrased)

    fns: dict[str, tuple[Callable[[], object], int]] = {
        "exact hit": (lambda: reader.lookup(exact), 200),
        "semantic hit, warm": (lambda: reader.lookup(rephrased), 200),
        "semantic hit after a new entry": (after_new_entry, 20),
        "semantic hit, cold (whole partition)": (cold, 3),
    }
    medians = {name: median_seconds(fn, calls=calls, rounds=5) for name, (fn, calls) in fns.items()}
    base = medians["exact hit"]
    scheme = url.split(":", 1)[0]
    return [
        [f"{scheme}, {size} entries", name, f"{seconds * 1e6:.0f}", f"{seconds / base:.1f}"]
        for name, seconds in medians.items()
    ]


def main() -> None:
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            _MEMORY.clear()
            rows += measure("memory://", size)
            rows += measure(f"diskcache://{Path(tmp) / f'sem-{size}'}", size)
    print_table(["partition", "lookup", "us/lookup", "x exact hit"], rows)


if __name__ == "__main__":
    main()
