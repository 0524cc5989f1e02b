"""The same backends as a LangChain `BaseCache`, for models outside the router.

``set_llm_cache(CostRouterLLMCache.from_url("redis://..."))`` gives any LangChain
model a shared cache with the router's safety rules: JSON values (LangChain's own
Redis and SQLite caches serialise with ``dumps``/``loads``), failures as misses with
one warning, prefixes and expiry.

The key is LangChain's: the serialised prompt plus ``llm_string``. LangChain builds
``llm_string`` from the model's identifying parameters and call kwargs; objects in
those whose repr holds a memory address make keys per-process (docs/architecture.md,
LangChain fact 4), which this adapter cannot repair.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from typing import Any

import orjson
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_costrouter.cache.backends import CacheBackend
from langchain_costrouter.cache.codec import (
    CacheDecodeError,
    CacheEncodeError,
    message_document,
    message_from_document,
    parse_json,
)
from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.response_cache import checked_ttl, says_something
from langchain_costrouter.cache.urls import open_backend
from langchain_costrouter.errors import BackendUnavailableWarning

_KEY_PREFIX = "lc:v2:"


class CostRouterLLMCache(BaseCache):
    """A LangChain LLM cache over a costrouter backend (memory, diskcache, Redis).

    An answer that says nothing (`says_something`: no text and no tool call that
    parsed) is not kept, as the router's cache keeps none: LangChain stores whatever
    the model returned, and every later call of the prompt got the empty answer back.
    An answer with text or a sound tool call is kept whole, a broken call beside them
    included, as LangChain's own caches keep it.

    Args:
        backend: the store.
        ttl: seconds an entry lives (positive and finite); None = until evicted.

    Raises:
        ConfigError: ``ttl`` is no lifetime (0, negative, infinite, NaN).
    """

    def __init__(self, backend: CacheBackend, *, ttl: float | None = None) -> None:
        """Wrap ``backend``."""
        checked_ttl(ttl)
        self.backend = backend
        self.ttl = ttl
        self._guard = BackendGuard(backend)

    @classmethod
    def from_url(cls, url: str, *, ttl: float | None = None) -> CostRouterLLMCache:
        """Open from a cache URL (see `open_cache`); ``ttl`` wins over ``?ttl=``."""
        backend, options = open_backend(url)
        return cls(backend, ttl=ttl if ttl is not None else options.get("ttl"))

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Fresh generations for this prompt and model, or None."""
        key = _key(prompt, llm_string)
        try:
            raw = self._guard.run("reading", self.backend.get, key)
        except CacheDecodeError as error:
            self._guard.corrupt_entry(key, error)
            return None
        return self._decode(key, raw)

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async `lookup`."""
        key = _key(prompt, llm_string)
        try:
            raw = await self._guard.arun("reading", lambda: self.backend.aget(key))
        except CacheDecodeError as error:
            self._guard.corrupt_entry(key, error)
            return None
        return self._decode(key, raw)

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store the generations as JSON (skipped with a warning if they are not JSON)."""
        value = _encode(return_val)
        if value is not None:
            key = _key(prompt, llm_string)
            self._guard.run("writing", lambda: self.backend.set(key, value, self.ttl))

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async `update`."""
        value = _encode(return_val)
        if value is not None:
            key = _key(prompt, llm_string)
            await self._guard.arun("writing", lambda: self.backend.aset(key, value, self.ttl))

    def clear(self, **kwargs: Any) -> None:
        """Remove every entry of the backend (its prefix only, for Redis)."""
        self._guard.run("clearing", self.backend.clear)

    def _decode(self, key: str, raw: bytes | None) -> list[Generation] | None:
        if raw is None:
            return None
        try:
            return [_generation(item) for item in _items(raw)]
        except CacheDecodeError as error:
            self._guard.corrupt_entry(key, error)
            return None


def _key(prompt: str, llm_string: str) -> str:
    try:
        text = orjson.dumps([prompt, llm_string])
    except TypeError:  # orjson refuses lone surrogates; json escapes them
        text = json.dumps([prompt, llm_string]).encode()
    return _KEY_PREFIX + hashlib.sha256(text).hexdigest()


def _encode(generations: Sequence[Generation]) -> bytes | None:
    """The entry of ``generations``; None when one of them is not worth replaying."""
    if not all(_worth_replaying(g) for g in generations):
        return None
    try:
        items = [_generation_document(g) for g in generations]
        return json.dumps(items).encode()
    except (CacheEncodeError, TypeError, ValueError) as error:
        warnings.warn(f"Generations not cached: {error}", BackendUnavailableWarning, stacklevel=4)
        return None


def _worth_replaying(generation: Generation) -> bool:
    if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage):
        return says_something(generation.message)
    return True


def _generation_document(generation: Generation) -> dict[str, Any]:
    document: dict[str, Any] = {"info": generation.generation_info}
    if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage):
        document["message"] = _message_document(generation.message)
    else:
        document["text"] = generation.text
    return document


def _message_document(message: AIMessage) -> dict[str, Any]:
    """The codec's document of ``message``, with the message id the codec leaves out.

    The codec drops ids for the router, whose replayed answer takes its new run's id
    (cache/codec.py). LangChain serves a hit as stored, id included: InMemoryCache
    returns the very message and its SQLite and Redis caches serialise it whole, and
    langchain-core gives a fresh run id only to an answer the model made, not to a
    hit. This adapter does the same, so a hit is the answer it replaces, id and all;
    entries stored before the id was kept are hits without one, as they were.
    """
    document = message_document(message)
    if message.id is not None:
        document["data"]["id"] = message.id
    return document


def _items(raw: bytes) -> list[Any]:
    try:
        items = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise CacheDecodeError(f"entry is not JSON: {error}") from error
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CacheDecodeError("entry is not a list of generations")
    return items


def _generation(item: dict[str, Any]) -> Generation:
    info = item.get("info")
    if info is not None and not isinstance(info, dict):
        raise CacheDecodeError("generation_info is not an object")
    if "message" in item:
        return ChatGeneration(message=message_from_document(item["message"]), generation_info=info)
    if not isinstance(item.get("text"), str):
        raise CacheDecodeError("generation has neither a message nor a text")
    return Generation(text=item["text"], generation_info=info)
