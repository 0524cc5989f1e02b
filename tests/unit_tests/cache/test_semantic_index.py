"""Parsed semantic partitions: compact entries, ranking, and reading only what is new."""

from __future__ import annotations

import base64
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.cache import DiskBackend, MemoryBackend, ResponseCache, SemanticLayer
from langchain_costrouter.cache.semantic_index import Rows, decode_entry, encode_entry
from langchain_costrouter.cache.semantic_view import PartitionView
from langchain_costrouter.errors import BackendUnavailableWarning
from tests.unit_tests.cache.support import BagOfWordsEmbeddings, answer, request


def unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def test_entries_round_trip_as_compact_float32() -> None:
    vector = unit(*(float(i % 7) for i in range(1536)))
    line = encode_entry("v2:key", "What is the capital of France?", vector)
    entry = decode_entry(line)
    assert entry is not None
    assert (entry.key, entry.text) == ("v2:key", "What is the capital of France?")
    assert max(abs(a - b) for a, b in zip(entry.vector, vector, strict=True)) < 1e-7
    assert len(line) < 9_000  # JSON numbers would take about 30 KB


def test_lines_that_are_not_entries_are_skipped_with_a_warning() -> None:
    good = encode_entry("k", "t", unit(1, 0))
    lines = [b"not json", b'{"k": "x"}', good, b'{"k": "y", "t": "u", "e": ""}']
    with pytest.warns(BackendUnavailableWarning, match="3 semantic entries"):
        view = PartitionView.read(list(enumerate(lines)), 4)
    assert view.tail.keys == ("k",)
    assert (view.length, view.entries) == (4, 1)


def _foreign_line(key: str, text: str, vector: list[float]) -> bytes:
    """A line as another writer (or a hand in the store) may leave it: any float32s."""
    packed = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return json.dumps({"k": key, "t": text, "e": packed}).encode()


@pytest.mark.parametrize(
    "vector",
    [[5.0] * 512, [math.nan] * 512, [math.inf] + [0.0] * 511, [0.0] * 512],
    ids=["long", "nan", "inf", "zero"],
)
def test_a_vector_that_is_not_of_unit_length_is_never_served(
    tmp_path: Path, vector: list[float]
) -> None:
    # Similarity is a dot product of unit vectors: a stored vector five times too long
    # rated 5 x its cosine, above any threshold, and answered unrelated questions.
    cache = ResponseCache(
        DiskBackend(tmp_path / "cache"),
        semantic=SemanticLayer(BagOfWordsEmbeddings(), threshold=0.8),
    )
    paris = request("What is the capital city of France?")
    cache.store(paris, answer("Paris."))
    assert cache.semantic is not None
    partition = cache.semantic.partition(paris, cache.normalization_for(paris))
    line = _foreign_line(cache.key(paris), "how old is it?", vector)
    cache.backend.append(partition, line)
    with pytest.warns(BackendUnavailableWarning, match="1 semantic entries"):
        assert cache.lookup(request("how tall is it?")) is None


def test_ranked_orders_by_similarity_and_compares_like_dimensions_only() -> None:
    lines = [
        encode_entry("far", "a", unit(0, 1)),
        encode_entry("near", "b", unit(1, 0.1)),
        encode_entry("exact", "c", unit(1, 0)),
        encode_entry("other-model", "d", unit(1, 0, 0)),
    ]
    view = PartitionView.read(list(enumerate(lines)), 4)
    accepted: list[str] = []

    def accept_after_two(text: str) -> bool:
        accepted.append(text)
        return len(accepted) == 2

    found = view.best(unit(1, 0), 0.5, accept_after_two)
    assert accepted == ["c", "b"]  # most similar first, other dimensions never compared
    assert found is not None
    assert (found.key, found.text) == ("near", "b")
    assert 0.5 < found.similarity < 1
    assert view.best(unit(1, 0), 0.5, lambda text: False) is None


def test_candidates_are_found_one_at_a_time_most_similar_first() -> None:
    lines = [encode_entry(f"k{i}", f"t{i}", unit(1, 0.1 * i)) for i in range(8)]
    view = PartitionView.read(list(enumerate(lines)), 8)
    asked: list[str] = []

    def accept(text: str) -> bool:
        asked.append(text)
        return text != "t1"

    found = view.candidates(unit(1, 0), 0.9, accept)
    assert next(found).key == "k0"
    assert asked == ["t0"]  # the rows behind the first are not looked at until asked for
    rest = list(itertools.islice(found, 2))
    assert [c.key for c in rest] == ["k2", "k3"]  # t1 refused
    assert asked == ["t0", "t1", "t2", "t3"]
    assert rest[0].similarity > rest[1].similarity >= 0.9
    assert list(view.candidates(unit(1, 0), 0.9, lambda text: False)) == []


def test_expired_rows_are_passed_over_counted_dead_and_trimmed_to_the_first_live() -> None:
    now = time.time()
    lines = [
        encode_entry("gone-1", "a", unit(1, 0), now - 10),
        b"not an entry",
        encode_entry("gone-2", "b", unit(1, 0.1), now - 5),
        encode_entry("live", "c", unit(1, 0.2), now + 60),
        encode_entry("gone-3", "d", unit(1, 0.05), now - 1),  # expired after a live one
        encode_entry("lasting", "e", unit(1, 0.3)),  # no TTL
    ]
    with pytest.warns(BackendUnavailableWarning):
        view = PartitionView.read(list(enumerate(lines, 10)), 16)
    assert (view.head, view.entries, view.trim_point()) == (10, 5, 10)
    found = view.candidates(unit(1, 0), 0.5, lambda text: True)
    assert [c.key for c in found] == ["live", "lasting"]  # the expired never
    pruned = view.pruned(now)
    assert (pruned.dead, pruned.entries) == (2, 3)  # the leading two are dead
    assert len(pruned.tail) == 5  # kept until half the tail is dead: no copy per lookup
    assert pruned.trim_point() == 13  # the values before "live" may go from the list
    assert pruned.pruned(now) is pruned
    later = pruned.pruned(now + 120)
    assert later.tail.keys == ("lasting",)  # four of five dead: dropped
    assert (later.dead, later.entries, later.trim_point()) == (0, 1, 15)  # no TTL: kept


def test_rows_after_a_merge_keep_their_vectors() -> None:
    lines = [encode_entry(f"k{i}", f"t{i}", unit(1, i)) for i in range(4)]
    rows = Rows.empty().extended(list(enumerate(lines)))
    rest = rows.after(3)
    assert (rest.keys, rest.texts) == (("k3",), ("t3",))
    assert rest.groups[2].rows.tolist() == [0]
    assert rest.groups[2].matrix.tolist() == [np.asarray(unit(1, 3), dtype=np.float32).tolist()]


class CountingBackend(MemoryBackend):
    """Records how many list values each lookup reads."""

    def __init__(self) -> None:
        super().__init__()
        self.values_read = 0

    def read_positioned(self, key: str, start: int = 0) -> list[tuple[int, bytes]]:
        values = super().read_positioned(key, start)
        self.values_read += len(values)
        return values


def caches_sharing(backend: MemoryBackend) -> tuple[ResponseCache, ResponseCache]:
    def cache() -> ResponseCache:
        return ResponseCache(backend, semantic=SemanticLayer(BagOfWordsEmbeddings(), threshold=0.8))

    return cache(), cache()


def test_a_lookup_reads_only_values_appended_since_the_last_one() -> None:
    backend = CountingBackend()
    writer, reader = caches_sharing(backend)
    questions = [f"What is the capital city of country number {n}?" for n in range(20)]
    for question in questions:
        writer.store(request(question), answer())
    assert reader.lookup(request("Tell me: " + questions[3])) is not None
    assert backend.values_read == 20
    assert reader.lookup(request("Tell me: " + questions[7])) is not None
    assert backend.values_read == 20  # nothing new: only the length was asked
    writer.store(request("How tall is the Eiffel tower?"), answer("330 m"))
    hit = reader.lookup(request("Tell me: how tall is the Eiffel tower?"))
    assert hit is not None
    assert hit.content == "330 m"
    assert backend.values_read == 22  # the last value known (to check it) and the new one


def test_a_cleared_partition_is_read_again_from_the_start() -> None:
    backend = CountingBackend()
    writer, reader = caches_sharing(backend)
    writer.store(request("What is the capital city of France?"), answer("Paris."))
    assert reader.lookup(request("Tell me: what is the capital city of France?")) is not None
    backend.clear()
    writer.store(request("What is the capital city of Italy?"), answer("Rome."))
    writer.store(request("What is the largest city of Italy?"), answer("Rome."))
    assert reader.lookup(request("Tell me: what is the capital city of France?")) is None
    hit = reader.lookup(request("Tell me: what is the capital city of Italy?"))
    assert hit is not None
    assert hit.content == "Rome."
