"""Semantic cache lookups against partitions of 1k, 10k and 100k entries, next to an exact hit.

A partition of N cached answers with 1,536-dimension vectors (OpenAI's size). Rows:
  * exact hit: the same request again (the baseline, ratio 1);
  * semantic hit, warm: a rephrased request; the process already holds the partition;
  * semantic hit after a new entry: another cache appended one entry just before (the
    lookup alone is timed);
  * semantic hit, cold: a new process's first lookup (diskcache, Redis: a real child
    process, imports excluded) or a new cache on the same in-process store (memory://).

Embedding is done by a hashing function that costs microseconds, so the figures are the
cache's own cost (a real embeddings call adds its network time). Questions are templated
with three slots, like real traffic: every entry is within the threshold of many others
and only the near-miss guard (the shop number) tells them apart.

Run: python bench/semantic.py [--sizes 1000,10000] [--backends memory,diskcache,redis]
     [--json after.json] [--before before.json]
``measure_partition`` and ``growth_exponent`` are importable (bench/scale.py uses them).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
SIZES = (1_000, 10_000, 100_000)
BACKENDS = ("memory", "diskcache", "redis")
REDIS_URL = "redis://127.0.0.1:6379/0"
ROWS = (
    "exact hit",
    "semantic hit, warm",
    "semantic hit after a new entry",
    "semantic hit, cold",
)
_STREETS = ("harbour", "market", "castle", "mill", "river", "station", "church", "garden")
_TOWNS = ("Leeds", "York", "Bath", "Hull", "Ely", "Wells", "Truro", "Ripon", "Derby")


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
    street, town = _STREETS[n % len(_STREETS)], _TOWNS[n // len(_STREETS) % len(_TOWNS)]
    return f"What is the opening time of shop number {n} on {street} street in {town}?"


def rephrased(n: int) -> str:
    return "Tell me: " + question(n)


_MEMORY: dict[int, MemoryBackend] = {}


def semantic_cache(url: str) -> ResponseCache:
    """A new cache (its own parsed partitions) on the store ``url`` names.

    ``memory://`` is one process's store: caches here share one backend per size, as
    the caches of two processes share a diskcache directory or a Redis prefix.
    """
    if url.startswith("memory://"):
        backend = _MEMORY.setdefault(hash(url), MemoryBackend(max_entries=200_000))
    else:
        backend = open_backend(url)[0]
    return ResponseCache(backend, semantic=SemanticLayer(HashingEmbeddings(), threshold=0.8))


def settle(cache: ResponseCache) -> float:
    """Wait until the cache's background index work is done; the seconds it took."""
    started = time.perf_counter()
    wait = getattr(cache, "wait_for_semantic_index", None)  # absent before the ANN index
    if wait is not None:
        wait()
    return time.perf_counter() - started


def fill(url: str, size: int) -> ResponseCache:
    writer = semantic_cache(url)
    for n in range(size):
        writer.store(request(question(n)), AIMessage(f"Shop {n} opens at nine."))
    return writer


def measure_partition(url: str, size: int) -> dict[str, float]:
    """Seconds per lookup for each of `ROWS` against a partition of ``size`` entries.

    Also ``"index ready after fill"``: how long the writer's background index work ran
    on after the last store (0 where there is none).
    """
    writer = fill(url, size)
    figures = {"index ready after fill": settle(writer)}
    reader = semantic_cache(url)
    target = size // 2 + 7
    exact, similar = request(question(target)), request(rephrased(target))
    hit = reader.lookup(similar)
    assert hit is not None and hit.text == f"Shop {target} opens at nine.", "must hit its shop"
    settle(reader)
    extra = iter(range(size, size + 10_000))

    def after_new_entry() -> Iterator[float]:
        while True:
            n = next(extra)
            writer.store(request(question(n)), AIMessage(f"Shop {n} opens at nine."))
            started = time.perf_counter()
            reader.lookup(similar)
            yield time.perf_counter() - started

    figures["exact hit"] = median_seconds(lambda: reader.lookup(exact), calls=200, rounds=5)
    figures["semantic hit, warm"] = median_seconds(
        lambda: reader.lookup(similar), calls=100 if size < 50_000 else 20, rounds=5
    )
    timings = after_new_entry()
    figures["semantic hit after a new entry"] = statistics.median(next(timings) for _ in range(30))
    settle(writer)
    figures["semantic hit, cold"] = cold_start_seconds(url, rephrased(target))
    return figures


def cold_start_seconds(url: str, text: str, runs: int = 3) -> float:
    """Median first-lookup time of a new process (a new cache for ``memory://``).

    NaN when a first lookup missed (the store failed, e.g. a read past its timeout).
    """
    samples = []
    for _ in range(runs):
        if url.startswith("memory://"):
            cache = semantic_cache(url)
            started = time.perf_counter()
            hit = cache.lookup(request(text))
            samples.append(time.perf_counter() - started if hit is not None else math.nan)
            continue
        child = [sys.executable, __file__, "--cold", url, text]
        output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        samples.append(float(output.strip().splitlines()[-1]))
    return math.nan if any(math.isnan(s) for s in samples) else statistics.median(samples)


def _cold_child(url: str, text: str) -> None:
    cache = semantic_cache(url)
    started = time.perf_counter()
    hit = cache.lookup(request(text))
    elapsed = time.perf_counter() - started
    print(elapsed if hit is not None else math.nan)


def growth_exponent(sizes: Sequence[int], seconds: Sequence[float]) -> float:
    """Slope of log(time) over log(size) from the smallest to the largest size."""
    return math.log(seconds[-1] / seconds[0]) / math.log(sizes[-1] / sizes[0])


@contextmanager
def store_url(backend: str, size: int) -> Iterator[str]:
    """A fresh store of the kind ``backend`` names, removed afterwards."""
    if backend == "memory":
        yield f"memory://?size={size}&id={uuid.uuid4().hex}"
        _MEMORY.clear()
    elif backend == "diskcache":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"diskcache://{Path(tmp) / 'cache'}"
    else:
        url = f"{REDIS_URL}?prefix=costrouter-bench:{uuid.uuid4().hex}:"
        try:
            yield url
        finally:
            ResponseCache(open_backend(url)[0]).clear()


def run(backends: Sequence[str], sizes: Sequence[int]) -> dict[str, dict[str, dict[str, float]]]:
    """backend -> size -> row -> seconds."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for backend in backends:
        for size in sizes:
            with store_url(backend, size) as url:
                figures = measure_partition(url, size)
            results.setdefault(backend, {})[str(size)] = figures
            print(f"{backend} {size}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    return results


def print_report(
    results: dict[str, dict[str, dict[str, float]]],
    before: dict[str, dict[str, dict[str, float]]] | None,
) -> None:
    """The lookups table (with after/before ratios) and the growth exponents."""
    rows: list[list[object]] = []
    for backend, by_size in results.items():
        for size, figures in by_size.items():
            for name in ROWS:
                then = (before or {}).get(backend, {}).get(size, {}).get(name)
                rows.append(
                    [
                        f"{backend}, {int(size):,}",
                        name,
                        _milliseconds(figures[name]),
                        f"{figures[name] / figures['exact hit']:.1f}",
                        "" if then is None else _milliseconds(then),
                        "" if then is None else f"{figures[name] / then:.3f}",
                    ]
                )
    print_table(["partition", "lookup", "ms", "x exact hit", "ms before", "after/before"], rows)
    print()
    exponents: list[list[object]] = []
    for backend, by_size in results.items():
        sizes = sorted(by_size, key=int)
        if len(sizes) < 2:
            continue
        for name in ROWS:
            seconds = [by_size[s][name] for s in sizes]
            exponents.append(
                [backend, name, f"{growth_exponent([int(s) for s in sizes], seconds):.2f}"]
            )
    if exponents:
        print_table(["store", "lookup", "growth exponent (time ~ size^k)"], exponents)


def _milliseconds(seconds: float) -> str:
    return "miss" if math.isnan(seconds) else f"{seconds * 1e3:.3f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--before", type=Path, help="figures of an earlier run to compare")
    parser.add_argument("--cold", nargs=2, metavar=("URL", "TEXT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold:
        _cold_child(*args.cold)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(args.backends.split(","), sizes)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    before = json.loads(args.before.read_text()) if args.before else None
    print_report(results, before)


if __name__ == "__main__":
    main()
