"""The semantic layer's I/O: embedding calls and vector lists in the backend.

`SemanticLayer` holds the pure decisions (partition, threshold, near-miss guard);
this module reads and appends the partition's vectors through the `BackendGuard`,
so a failing store is a miss here too, and keeps each partition parsed
(`PartitionIndex`), reading only what was appended since the last lookup. A query's
vector is kept until the answer is stored, so a miss followed by a store embeds the
prompt once, not twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict

from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.keys import CacheRequest, Normalization
from langchain_costrouter.cache.semantic import SemanticLayer, SemanticMatch
from langchain_costrouter.cache.semantic_index import PartitionIndex, encode_entry

_PENDING_VECTORS = 1024
# Parsed partitions kept per cache, least recently read dropped first: 256 MB holds
# about 40,000 vectors of 1,536 dimensions. A dropped partition is read again whole.
_KEPT_BYTES = 256 * 2**20


class SemanticStore:
    """Finds and records semantic entries for one `ResponseCache`."""

    def __init__(self, layer: SemanticLayer, guard: BackendGuard) -> None:
        """Use ``layer``'s decisions and ``guard``'s backend."""
        self.layer = layer
        self.guard = guard
        self._pending: OrderedDict[str, list[float]] = OrderedDict()
        self._indexes: OrderedDict[str, PartitionIndex] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, request: CacheRequest, normalization: Normalization) -> SemanticMatch | None:
        """The best stored match for the request, if any."""
        text = self.layer.query_text(request)
        if text is None:
            return None
        partition = self.layer.partition(request, normalization)
        index = self.guard.run("reading vectors", self._read, partition)
        if not index or not index.entries:
            return None
        vector = self._vector(text) or self.layer.embed(text)
        self._keep(text, vector)
        return self.layer.best_match(request.task, text, vector, index)

    async def afind(
        self, request: CacheRequest, normalization: Normalization
    ) -> SemanticMatch | None:
        """Async `find`."""
        text = self.layer.query_text(request)
        if text is None:
            return None
        partition = self.layer.partition(request, normalization)
        index = await self.guard.arun(
            "reading vectors", lambda: asyncio.to_thread(self._read, partition)
        )
        if not index or not index.entries:
            return None
        vector = self._vector(text) or await self.layer.aembed(text)
        self._keep(text, vector)
        return self.layer.best_match(request.task, text, vector, index)

    def remember(self, request: CacheRequest, normalization: Normalization, key: str) -> None:
        """Add the request's vector to its partition, pointing at the exact ``key``."""
        text = self.layer.query_text(request)
        if text is None:
            return
        vector = self._vector(text) or self.layer.embed(text)
        partition = self.layer.partition(request, normalization)
        entry = encode_entry(key, text, vector)
        self.guard.run("writing vectors", self.guard.backend.append, partition, entry)

    async def aremember(
        self, request: CacheRequest, normalization: Normalization, key: str
    ) -> None:
        """Async `remember`."""
        text = self.layer.query_text(request)
        if text is None:
            return
        vector = self._vector(text) or await self.layer.aembed(text)
        partition = self.layer.partition(request, normalization)
        entry = encode_entry(key, text, vector)
        backend = self.guard.backend
        await self.guard.arun(
            "writing vectors", lambda: asyncio.to_thread(backend.append, partition, entry)
        )

    def _read(self, partition: str) -> PartitionIndex:
        """The partition as this process knows it, brought up to date with what is new.

        One length query when nothing changed; the new values only when some were
        appended; the whole list again when the backend's list is not the one read
        before (cleared, trimmed or evicted meanwhile).
        """
        backend = self.guard.backend
        length = backend.list_length(partition)
        with self._lock:
            known = self._indexes.get(partition)
            if known is not None:
                self._indexes.move_to_end(partition)  # recently read: kept longest
        if known is not None and known.length == length:
            return known
        index = None
        if known is not None and 0 < known.length < length:
            lines = backend.read_list(partition, known.length - 1)
            if lines and lines[0] == known.last:
                index = known.extended(lines[1:], known.length - 1 + len(lines))
        if index is None:
            lines = backend.read_list(partition)
            index = PartitionIndex.empty().extended(lines, length)
        self._remember_index(partition, index)
        return index

    def _remember_index(self, partition: str, index: PartitionIndex) -> None:
        """Keep ``index``; drop the least recently read partitions beyond the byte budget."""
        with self._lock:
            self._indexes[partition] = index
            self._indexes.move_to_end(partition)
            total = sum(kept.nbytes for kept in self._indexes.values())
            while total > _KEPT_BYTES and len(self._indexes) > 1:
                _, dropped = self._indexes.popitem(last=False)
                total -= dropped.nbytes

    def _vector(self, text: str) -> list[float] | None:
        with self._lock:
            return self._pending.pop(text, None)

    def _keep(self, text: str, vector: list[float]) -> None:
        with self._lock:
            self._pending[text] = vector
            while len(self._pending) > _PENDING_VECTORS:
                self._pending.popitem(last=False)
