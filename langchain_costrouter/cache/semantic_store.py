"""The semantic layer's I/O: embedding calls and the entries a request finds or adds.

`SemanticLayer` holds the pure decisions (partition, threshold, near-miss guard);
this module reads and appends the partition's vectors through the `BackendGuard`,
so a failing store is a miss here too. The partitions' views, read from the
backend's lists, merged into bases in the background and trimmed of expired values,
are kept by `semantic_partitions.Partitions`. A query's vector is kept until the
answer is stored, so a miss followed by a store embeds the prompt once, not twice.

Under a TTL each entry carries its answer's expiry. Expired rows leave the search at
once, the process's index as `semantic_view` says, and the backend's list on a write
as `semantic_partitions` says. Only a head is trimmed: an entry without a TTL (or
written by a release before this one, which stored no expiry) keeps the values after
it in the list until it goes itself; the search skips them anyway.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator

from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.keys import CacheRequest, Normalization
from langchain_costrouter.cache.semantic import SemanticLayer, SemanticMatch
from langchain_costrouter.cache.semantic_embedding import Embedder
from langchain_costrouter.cache.semantic_index import encode_entry
from langchain_costrouter.cache.semantic_partitions import Partitions

_PENDING_VECTORS = 1024
# Matches a lookup tries, nearest first, when the nearer ones' answers are gone.
MATCHES_TRIED = 4


_STORES: weakref.WeakSet[SemanticStore] = weakref.WeakSet()


class SemanticStore:
    """Finds and records semantic entries for one `ResponseCache`."""

    def __init__(self, layer: SemanticLayer, guard: BackendGuard) -> None:
        """Use ``layer``'s decisions and ``guard``'s backend."""
        self.layer = layer
        self.guard = guard
        self._embedder = Embedder(layer, guard.retry_after)
        self._partitions = Partitions(guard)
        self._pending: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()
        _STORES.add(self)

    def find(self, request: CacheRequest, normalization: Normalization) -> Iterator[SemanticMatch]:
        """The best stored matches for the request (up to `MATCHES_TRIED`), nearest
        first, each searched for when the caller asks for it.

        More than one: the nearest entry's answer may have expired or been evicted
        while the next one's, also above the threshold, still answers.
        """
        text = self.layer.query_text(request)
        if text is None:
            return iter(())
        partition = self.layer.partition(request, normalization)
        view = self.guard.run("reading vectors", self._partitions.read, partition)
        if not view or not view.entries:
            return iter(())
        vector = self._vector(text) or self._embedder.embed(text)
        if vector is None:
            return iter(())
        self._keep(text, vector)
        return itertools.islice(self.layer.matches(request.task, text, vector, view), MATCHES_TRIED)

    async def afind(
        self, request: CacheRequest, normalization: Normalization
    ) -> Iterator[SemanticMatch]:
        """Async `find` (the matches are searched for on the caller's thread)."""
        text = self.layer.query_text(request)
        if text is None:
            return iter(())
        partition = self.layer.partition(request, normalization)
        view = await self.guard.arun(
            "reading vectors", lambda: asyncio.to_thread(self._partitions.read, partition)
        )
        if not view or not view.entries:
            return iter(())
        vector = self._vector(text) or await self._embedder.aembed(text)
        if vector is None:
            return iter(())
        self._keep(text, vector)
        return itertools.islice(self.layer.matches(request.task, text, vector, view), MATCHES_TRIED)

    def remember(
        self,
        request: CacheRequest,
        normalization: Normalization,
        key: str,
        ttl: float | None = None,
    ) -> None:
        """Add the request's vector to its partition, pointing at the exact ``key``
        whose answer lives ``ttl`` seconds (None: no expiry); trim expired values."""
        text = self.layer.query_text(request)
        if text is None:
            return
        vector = self._vector(text) or self._embedder.embed(text)
        if vector is None:
            return
        partition = self.layer.partition(request, normalization)
        entry = encode_entry(key, text, vector, _expiry(ttl))
        self.guard.run("writing vectors", self.guard.backend.append, partition, entry)
        self.guard.run("trimming vectors", self._partitions.trim, partition)

    async def aremember(
        self,
        request: CacheRequest,
        normalization: Normalization,
        key: str,
        ttl: float | None = None,
    ) -> None:
        """Async `remember`."""
        text = self.layer.query_text(request)
        if text is None:
            return
        vector = self._vector(text) or await self._embedder.aembed(text)
        if vector is None:
            return
        partition = self.layer.partition(request, normalization)
        entry = encode_entry(key, text, vector, _expiry(ttl))
        backend = self.guard.backend
        await self.guard.arun(
            "writing vectors", lambda: asyncio.to_thread(backend.append, partition, entry)
        )
        await self.guard.arun(
            "trimming vectors", lambda: asyncio.to_thread(self._partitions.trim, partition)
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for this store's background merges; False if some still run at ``timeout``.

        Raises:
            Exception: what a merge raised that was not a store or file error (a bug).
        """
        return self._partitions.wait(timeout)

    def forget_parent(self) -> None:
        """In a forked child: a lock a parent's thread held is free here (the merges it
        had scheduled are marked done by the worker, and scheduled again when needed)."""
        self._lock = threading.Lock()
        self._partitions.forget_parent()

    def _vector(self, text: str) -> list[float] | None:
        with self._lock:
            return self._pending.pop(text, None)

    def _keep(self, text: str, vector: list[float]) -> None:
        with self._lock:
            self._pending[text] = vector
            while len(self._pending) > _PENDING_VECTORS:
                self._pending.popitem(last=False)


def _expiry(ttl: float | None) -> float | None:
    """When an answer stored now with ``ttl`` expires (Unix time: shared by machines)."""
    return None if ttl is None else time.time() + ttl


def _forget_parent_locks() -> None:
    for store in list(_STORES):
        store.forget_parent()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=_forget_parent_locks)
