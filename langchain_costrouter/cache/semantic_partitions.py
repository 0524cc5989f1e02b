"""The semantic layer's partitions as this process knows them, kept up to date.

Each partition is kept as a `PartitionView`: on a lookup the backend is asked for the
list's length and the values appended since. A new process starts from the
partition's base in its `IndexHome` (a mapped file for diskcache and Redis), checked
against the backend's value at the base's last position, instead of parsing the whole
list. When the rows since the base grow past an exact scan's budget, a background
thread merges them into a new base (and graph) and writes it for the machine's other
processes. `SemanticStore` (embedding, finding, remembering) reads and trims through
`Partitions` under its `BackendGuard`, so a failing store is a miss there.

Under a TTL, once the expired values at a list's head are `TRIM_AT` or as many as the
live ones, the writer trims them (`CacheBackend.trim_list`, bounded per call).
Positions never move, so other processes go on reading only what is new.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_futures

from langchain_costrouter.cache.backends import CacheBackendError
from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.semantic_base import Base, merge
from langchain_costrouter.cache.semantic_home import IndexHome, home_for
from langchain_costrouter.cache.semantic_index import value_digest
from langchain_costrouter.cache.semantic_view import PartitionView
from langchain_costrouter.cache.semantic_worker import INDEX_WORKER
from langchain_costrouter.errors import BackendUnavailableWarning

# Expired values at a list's head that make a write trim them (or as many as the live
# ones): a trim is a round trip, so not one per write under a steady TTL.
TRIM_AT = 64
# Parsed partitions kept per cache, least recently read dropped first (mapped files do
# not count). A dropped partition is started again from its base.
_KEPT_BYTES = 256 * 2**20
# After a merge found another process merging the same partition, wait this long.
_MERGE_RETRY_SECONDS = 1.0


class Partitions:
    """One `SemanticStore`'s partition views, their merges and their lists' trims."""

    def __init__(self, guard: BackendGuard) -> None:
        """Read and trim the lists of ``guard``'s backend (the caller guards the calls)."""
        self.guard = guard
        self._home: IndexHome | None = None
        self._views: OrderedDict[str, PartitionView] = OrderedDict()
        self._merges: dict[str, Future[None]] = {}
        self._retry_at: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def home(self) -> IndexHome:
        if self._home is None:
            self._home = home_for(self.guard.backend)
        return self._home

    def trim(self, partition: str) -> None:
        """Drop the expired values at the head of the partition's list, when they are
        many enough to be worth a round trip (`PartitionView.trim_due`)."""
        with self._lock:
            known = self._views.get(partition)
        if known is None:
            return
        view = known.pruned(time.time())
        point = view.trim_due(TRIM_AT)
        if point is not None:
            self.guard.backend.trim_list(partition, point)
            view = view.at_head(point)
        if view is not known:
            with self._lock:
                if self._views.get(partition) is known:  # else another thread replaced it
                    self._views[partition] = view

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background merges; False if some still run at ``timeout``.

        Raises:
            Exception: what a merge raised that was not a store or file error (a bug).
        """
        with self._lock:
            running = list(self._merges.values())
        done, not_done = wait_for_futures(running, timeout)
        for future in done:
            future.result()  # a merge's unexpected error surfaces here
        return not not_done

    def read(self, partition: str) -> PartitionView:
        """The partition as this process knows it, brought up to date with what is new.

        One query (the list's bounds) when nothing changed; the new values only when
        some were appended; the whole list again when the backend's list is not the
        one read before (cleared, trimmed past it or evicted meanwhile). Rows whose
        answers expired are counted dead; a base half dead is merged anew.
        """
        head, length = self.guard.backend.list_bounds(partition)
        with self._lock:
            known = self._views.get(partition)
        if known is None:
            known = self._adopted(partition)
        if known is None or known.length != length:
            known = self._caught_up(partition, known, length)
        known = known.at_head(head).pruned(time.time())
        if known.tail_full() or known.compactable():
            self._schedule_merge(partition, known)
        self._remember_view(partition, known)
        return known

    def _adopted(self, partition: str) -> PartitionView | None:
        """The home's base, if the backend still holds the value it ends with."""
        base = self.home.load(partition)
        if base is None:
            return None
        backend = self.guard.backend
        lines = backend.read_positioned(partition, base.length - 1) if base.length else []
        if base.length and not _continues(lines, base.length, base.last):
            self.home.discard(partition)
            return None
        return PartitionView.of_base(base, lines[1:])

    def _caught_up(self, partition: str, known: PartitionView | None, length: int) -> PartitionView:
        backend = self.guard.backend
        if known is not None and 0 < known.length < length:
            lines = backend.read_positioned(partition, known.length - 1)
            if _continues(lines, known.length, known.last):
                return known.extended(lines[1:], lines[-1][0] + 1)
        if known is not None and known.base is not None and self.home.load(partition) is known.base:
            self.home.discard(partition)  # its list changed under it (a newer file is kept)
        lines = backend.read_positioned(partition)
        return PartitionView.read(lines, lines[-1][0] + 1 if lines else length)

    def _remember_view(self, partition: str, view: PartitionView) -> None:
        """Keep ``view``; drop the least recently read partitions beyond the byte budget."""
        with self._lock:
            self._views[partition] = view
            self._views.move_to_end(partition)
            total = sum(kept.nbytes for kept in self._views.values())
            while total > _KEPT_BYTES and len(self._views) > 1:
                _, dropped = self._views.popitem(last=False)
                total -= dropped.nbytes

    def _schedule_merge(self, partition: str, view: PartitionView) -> None:
        with self._lock:
            running = self._merges.get(partition)
            if running is not None and not running.done():
                return
            if time.monotonic() < self._retry_at.get(partition, 0.0):
                return
            self._merges[partition] = INDEX_WORKER.submit(lambda: self._merge(partition, view))

    def _merge(self, partition: str, view: PartitionView) -> None:
        """Move the view's tail into a new base, or adopt a newer one another process wrote."""
        try:
            with self.home.claim(partition) as mine:
                newer = self.home.load(partition)
                if newer is not None and _newer(newer, view):
                    adopted = self._adopted(partition)
                    if adopted is not None:
                        self._install(partition, adopted)
                elif mine:
                    merged = merge(view.base, view.tail, view.length, view.last, view.dead)
                    self._rebase(partition, view, self.home.save(partition, merged))
                else:
                    with self._lock:
                        self._retry_at[partition] = time.monotonic() + _MERGE_RETRY_SECONDS
        except (OSError, CacheBackendError) as error:  # CacheBackendError is an OSError
            warnings.warn(
                f"Semantic index upkeep failed ({error}); lookups scan the newest entries "
                f"exactly until it succeeds.",
                BackendUnavailableWarning,
                stacklevel=2,
            )
            with self._lock:
                self._retry_at[partition] = time.monotonic() + _MERGE_RETRY_SECONDS

    def _rebase(self, partition: str, merged_from: PartitionView, base: Base) -> None:
        """Put ``base`` under the current view, if it still extends the merged one."""
        with self._lock:
            current = self._views.get(partition)
            if current is not None and current.lineage == merged_from.lineage:
                self._views[partition] = current.rebased(base)

    def _install(self, partition: str, view: PartitionView) -> None:
        with self._lock:
            current = self._views.get(partition)
            if current is None or current.length <= view.length:
                self._views[partition] = view

    def forget_parent(self) -> None:
        """In a forked child: a lock a parent's thread held is free here (the merges it
        had scheduled are marked done by the worker, and scheduled again when needed)."""
        self._lock = threading.Lock()


def _continues(lines: list[tuple[int, bytes]], length: int, last: str) -> bool:
    """Whether ``lines`` start with the value a reader saw at ``length - 1``."""
    return bool(lines) and lines[0][0] == length - 1 and value_digest(lines[0][1]) == last


def _newer(base: Base, view: PartitionView) -> bool:
    """Whether another process's ``base`` is worth adopting: it covers more of the list,
    or as much with fewer rows (it left out rows that expired)."""
    if base.length != view.base_length:
        return base.length > view.base_length
    return view.base is not None and base is not view.base and len(base) < len(view.base)
