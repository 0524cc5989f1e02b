"""The graph index: proposes the nearest vectors, saves and maps without pickling."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_costrouter.cache.semantic_ann import AnnGraph, ann_available

pytestmark = pytest.mark.skipif(not ann_available(), reason="the [ann] extra is not installed")


def unit_rows(count: int, dimensions: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimensions), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_nearest_vector_comes_first_and_labels_are_positions() -> None:
    vectors = unit_rows(3000, 64)
    graph = AnnGraph.build(64)
    graph.add(vectors[:1000])
    graph.add(vectors[1000:])  # labels continue where the first batch stopped
    assert len(graph) == 3000
    for row in (0, 999, 1000, 2999):
        assert graph.search(vectors[row], 4)[0] == row


def test_a_saved_graph_is_mapped_read_only_and_a_copy_grows() -> None:
    vectors = unit_rows(600, 32)
    graph = AnnGraph.build(32)
    graph.add(vectors[:500])
    mapped = AnnGraph.mapped(memoryview(graph.to_bytes()))
    assert (len(mapped), mapped.dimensions) == (500, 32)
    assert mapped.search(vectors[42], 3)[0] == 42
    grown = mapped.copy()
    grown.add(vectors[500:])
    assert (len(grown), len(mapped)) == (600, 500)
    assert grown.search(vectors[550], 3)[0] == 550


def test_bytes_that_are_not_a_graph_are_refused() -> None:
    with pytest.raises((ValueError, RuntimeError)):
        AnnGraph.mapped(memoryview(b"\x00" * 64))
