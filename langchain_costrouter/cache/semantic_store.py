"""The semantic layer's I/O: embedding calls and vector lists in the backend.

`SemanticLayer` holds the pure decisions (partition, threshold, near-miss guard);
this module reads and appends the partition's vectors through the `BackendGuard`,
so a failing store is a miss here too. A query's vector is kept until the answer
is stored, so a miss followed by a store embeds the prompt once, not twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict

from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.keys import CacheRequest, Normalization
from langchain_costrouter.cache.semantic import SemanticLayer, SemanticMatch

_PENDING_VECTORS = 1024


class SemanticStore:
    """Finds and records semantic entries for one `ResponseCache`."""

    def __init__(self, layer: SemanticLayer, guard: BackendGuard) -> None:
        """Use ``layer``'s decisions and ``guard``'s backend."""
        self.layer = layer
        self.guard = guard
        self._pending: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, request: CacheRequest, normalization: Normalization) -> SemanticMatch | None:
        """The best stored match for the request, if any."""
        text = self.layer.query_text(request)
        if text is None:
            return None
        partition = self.layer.partition(request, normalization)
        stored = self.guard.run("reading vectors", lambda: self.guard.backend.read_list(partition))
        if not stored:
            return None
        vector = self._vector(text) or self.layer.embed(text)
        self._keep(text, vector)
        return self.layer.best_match(request.task, text, vector, stored)

    async def afind(
        self, request: CacheRequest, normalization: Normalization
    ) -> SemanticMatch | None:
        """Async `find`."""
        text = self.layer.query_text(request)
        if text is None:
            return None
        partition = self.layer.partition(request, normalization)
        backend = self.guard.backend
        stored = await self.guard.arun(
            "reading vectors", lambda: asyncio.to_thread(backend.read_list, partition)
        )
        if not stored:
            return None
        vector = self._vector(text) or await self.layer.aembed(text)
        self._keep(text, vector)
        return self.layer.best_match(request.task, text, vector, stored)

    def remember(self, request: CacheRequest, normalization: Normalization, key: str) -> None:
        """Add the request's vector to its partition, pointing at the exact ``key``."""
        text = self.layer.query_text(request)
        if text is None:
            return
        vector = self._vector(text) or self.layer.embed(text)
        self._append(request, normalization, self.layer.entry(key, text, vector))

    async def aremember(
        self, request: CacheRequest, normalization: Normalization, key: str
    ) -> None:
        """Async `remember`."""
        text = self.layer.query_text(request)
        if text is None:
            return
        vector = self._vector(text) or await self.layer.aembed(text)
        partition = self.layer.partition(request, normalization)
        entry = self.layer.entry(key, text, vector)
        backend = self.guard.backend
        await self.guard.arun(
            "writing vectors", lambda: asyncio.to_thread(backend.append, partition, entry)
        )

    def _append(self, request: CacheRequest, normalization: Normalization, entry: bytes) -> None:
        partition = self.layer.partition(request, normalization)
        self.guard.run("writing vectors", lambda: self.guard.backend.append(partition, entry))

    def _vector(self, text: str) -> list[float] | None:
        with self._lock:
            return self._pending.pop(text, None)

    def _keep(self, text: str, vector: list[float]) -> None:
        with self._lock:
            self._pending[text] = vector
            while len(self._pending) > _PENDING_VECTORS:
                self._pending.popitem(last=False)
