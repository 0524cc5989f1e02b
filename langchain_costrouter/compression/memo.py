"""Compress once: results memoised by content hash in any small key-value store.

A static system prompt is compressed on its first request only; every later request (in
this process or, with a shared store such as Redis, in any replica) reads the same text
back. That saves the compressor's cost and keeps the compressed prefix byte-stable, which is
what lets provider prefix caches keep hitting.

Values are JSON strings, never pickles: a shared store must not be able to run code here.
A store failure is a miss with a warning, never a failed call (the diskcache rule).
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from langchain_costrouter._store_failures import store_failures
from langchain_costrouter.errors import BackendUnavailableWarning

_KEY_PREFIX = "costrouter:compression:v1:"


@runtime_checkable
class KeyValueStore(Protocol):
    """What the memo needs from a cache backend: string get and set."""

    def get(self, key: str) -> str | bytes | None:
        """The stored value, or None when the key is absent."""

    def set(self, key: str, value: str) -> Any:
        """Store ``value`` under ``key``; what it returns is ignored (redis-py's is a flag)."""


MemoBackend = KeyValueStore | MutableMapping[str, str]


class RecentEntries:
    """An in-process `KeyValueStore` keeping the ``size`` most recently used entries.

    The memo of a compressor built from the config file: the current turn is compressed
    too, so a plain dict would keep every distinct question a long-running service is
    asked; a static system prompt, read on every call, is never the one pushed out.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """The value, now the most recently used; None when absent."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: str) -> None:
        """Store the value, dropping the least recently used entries over ``size``."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class MemoEntry:
    """A stored compression: the text to use and, if it is the original, why."""

    text: str
    fallback_reason: str | None


def memo_key(text: str, fingerprint: dict[str, Any]) -> str:
    """Content hash of ``text`` plus every setting that shapes the compressed result."""
    payload = json.dumps({"text": text, **fingerprint}, sort_keys=True, ensure_ascii=False)
    return _KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Memo:
    """The memo over a store; a dict works as well as the router's cache backend."""

    store: MemoBackend

    def get(self, key: str) -> MemoEntry | None:
        """The entry under ``key``, or None on a miss, a store failure or a foreign value."""
        try:
            raw = self.store.get(key)
        except store_failures() as error:
            _warn_unavailable("read", error)
            return None
        return _decode(raw) if raw is not None else None

    def set(self, key: str, entry: MemoEntry) -> None:
        """Store ``entry``; a failing store only loses the memo."""
        value = json.dumps({"text": entry.text, "fallback_reason": entry.fallback_reason})
        try:
            if isinstance(self.store, MutableMapping):
                self.store[key] = value
            else:
                self.store.set(key, value)
        except store_failures() as error:
            _warn_unavailable("write", error)


def _decode(raw: str | bytes) -> MemoEntry | None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    reason = data.get("fallback_reason")
    return MemoEntry(data["text"], reason if isinstance(reason, str) else None)


def _warn_unavailable(action: str, error: Exception) -> None:
    warnings.warn(
        f"Compression memo {action} failed ({error!r}); compressing without the memo.",
        BackendUnavailableWarning,
        stacklevel=3,
    )
