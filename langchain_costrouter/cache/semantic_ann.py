"""Approximate nearest neighbours for large semantic partitions (the ``[ann]`` extra).

An exact scan reads every stored vector: 100,000 vectors of 1,536 dimensions are 600 MB
of float32, about 40 ms per lookup on one core. A graph index (HNSW) visits a few
hundred instead. It only proposes candidates: the caller re-ranks them with the exact
float32 vectors and applies the threshold and the near-miss guard itself, so the graph's
approximations can cost a hit but never serve a wrong one.

Library chosen by measurement on this project's 2-core machine (50,000 clustered unit
vectors of 1,536 dimensions, connectivity 16, search expansion 64, recall@1 1.0 for all):

=================  ======  ==========  ==========  =================  =========
library            search  insert one  index file  load, first search  GIL
=================  ======  ==========  ==========  =================  =========
usearch 2.26, i8   0.24 ms    0.70 ms     84 MB    30 ms (mapped)      released
faiss-cpu 1.15 SQ8 0.28 ms    0.96 ms     84 MB    99 ms               released
faiss-cpu HNSWFlat 0.66 ms    2.73 ms    314 MB   320 ms               released
hnswlib 0.8        0.47 ms    0.77 ms    315 MB   264 ms               released
usearch 2.26, f16  1.03 ms    1.45 ms    161 MB    36 ms (mapped)      released
=================  ======  ==========  ==========  =================  =========

usearch with 8-bit vectors searches and inserts fastest, its saved index can be mapped
from a file without being read (a new process's first lookup stays well under a
second), its wheels are small, it never pickles, and it is released monthly. hnswlib has
had no release since 2023. The 8-bit vectors are why the exact re-rank is needed: their
cosine is off by about 0.01.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

Labels = npt.NDArray[np.int64]

# Vectors added per call: a build checks between calls whether the process is exiting.
ADD_CHUNK = 512
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 64


class IndexingStoppedError(RuntimeError):
    """The process is exiting: a background build gave up between two chunks."""


# usearch's native threads must not outlive the interpreter (the C++ runtime aborts the
# process): at exit, the build in progress finishes its chunk and no other starts.
_STOPPING = threading.Event()
_ADDING = threading.Lock()


@atexit.register
def _stop_adding() -> None:
    _STOPPING.set()
    _ADDING.acquire(timeout=30)


def _new_lock_in_child() -> None:
    """A forked child has no build running: the parent's thread that held the lock is
    not copied, and a copy held for ever made the child's builds wait for ever and its
    exit wait 30 s."""
    global _ADDING
    _ADDING = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=_new_lock_in_child)


def ann_available() -> bool:
    """Whether the ``[ann]`` extra (usearch) is installed."""
    try:
        import usearch.index  # noqa: F401  (optional dependency)
    except ImportError:
        return False
    return True


def _index_class() -> Any:
    from usearch.index import Index  # optional dependency: imported where it is used

    return Index


def _build_threads() -> int:
    """Half the cores: index building runs beside the application's own work."""
    return max(1, (os.cpu_count() or 2) // 2)


class AnnGraph:
    """An HNSW graph over one dimension's vectors; labels are positions in that group."""

    def __init__(self, index: Any, buffer: object = None) -> None:
        """Wrap a usearch index; ``buffer`` is the memory a mapped index reads from."""
        self._index = index
        self._buffer = buffer  # kept alive as long as the index views it

    @classmethod
    def build(cls, dimensions: int) -> AnnGraph:
        """An empty graph for vectors of ``dimensions``."""
        index = _index_class()(
            ndim=dimensions,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        return cls(index)

    @classmethod
    def mapped(cls, buffer: memoryview) -> AnnGraph:
        """A read-only graph over saved bytes, without copying them (`to_bytes`' output)."""
        index = _index_class().restore(buffer, view=True)
        if index is None:
            raise ValueError("not a saved usearch index")
        index.expansion_search = EXPANSION_SEARCH
        return cls(index, buffer)

    def __len__(self) -> int:
        """Vectors in the graph."""
        return len(self._index)

    @property
    def dimensions(self) -> int:
        """The vectors' dimension."""
        return int(self._index.ndim)

    def copy(self) -> AnnGraph:
        """A private, writable copy (a mapped graph cannot grow)."""
        if self._buffer is not None:
            return AnnGraph(_index_class().restore(self._buffer, view=False))
        return AnnGraph(self._index.copy())

    def add(self, vectors: npt.NDArray[np.float32]) -> None:
        """Append ``vectors``; their labels continue from the current size.

        Raises:
            IndexingStoppedError: the process began exiting.
        """
        for start in range(0, len(vectors), ADD_CHUNK):
            chunk = np.ascontiguousarray(vectors[start : start + ADD_CHUNK])
            with _ADDING:
                if _STOPPING.is_set():
                    raise IndexingStoppedError("the process is exiting")
                labels = np.arange(len(self), len(self) + len(chunk), dtype=np.uint64)
                self._index.add(labels, chunk, threads=_build_threads())

    def search(self, vector: npt.NDArray[np.float32], count: int) -> Labels:
        """Labels of (about) the ``count`` nearest vectors, nearest first."""
        matches = self._index.search(vector, count, threads=1)
        return np.asarray(matches.keys, dtype=np.int64)

    def to_bytes(self) -> bytes:
        """The graph serialised (usearch's own format, no pickle)."""
        return bytes(self._index.save())
