"""The same backends as a LangChain `BaseCache`, for models outside the router.

``set_llm_cache(CostRouterLLMCache.from_url("redis://..."))`` gives any LangChain
model a shared cache with the router's safety rules: JSON values (LangChain's own
Redis and SQLite caches serialise with ``dumps``/``loads``), failures as misses with
one warning, prefixes and expiry. Each entry names its key, as the router's do: another
prompt's entry copied under it in a shared store is a warned miss, never served.

The key is LangChain's: the serialised prompt plus ``llm_string``. LangChain builds
``llm_string`` from the model's identifying parameters and call kwargs; objects in
those whose repr holds a memory address make keys per-process (docs/architecture.md,
LangChain fact 4), which this adapter cannot repair. Credentials it does repair: a
value under a credential's name (``default_headers.Authorization``, a call's
``api_key``) is masked before hashing, as the router's keys drop them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import warnings
from collections.abc import Sequence
from typing import Any

import orjson
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_costrouter._secrets import MASK, is_secret_name
from langchain_costrouter.cache._task_policy import checked_ttl
from langchain_costrouter.cache.backends import CacheBackend
from langchain_costrouter.cache.codec import (
    CacheDecodeError,
    CacheEncodeError,
    message_document,
    message_from_document,
    parse_json,
)
from langchain_costrouter.cache.guard import BackendGuard
from langchain_costrouter.cache.response_cache import says_something
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
        key = _key(prompt, llm_string)
        value = _encode(key, return_val)
        if value is not None:
            self._guard.run("writing", lambda: self.backend.set(key, value, self.ttl))

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async `update`."""
        key = _key(prompt, llm_string)
        value = _encode(key, return_val)
        if value is not None:
            await self._guard.arun("writing", lambda: self.backend.aset(key, value, self.ttl))

    def clear(self, **kwargs: Any) -> None:
        """Remove every entry of the backend (its prefix only, for Redis)."""
        self._guard.run("clearing", self.backend.clear)

    def _decode(self, key: str, raw: bytes | None) -> list[Generation] | None:
        if raw is None:
            return None
        try:
            return [_generation(item) for item in _items(raw, key)]
        except CacheDecodeError as error:
            self._guard.corrupt_entry(key, error)
            return None


def _key(prompt: str, llm_string: str) -> str:
    llm_string = _without_credentials(llm_string)
    try:
        text = orjson.dumps([prompt, llm_string])
    except TypeError:  # orjson refuses lone surrogates; json escapes them
        text = json.dumps([prompt, llm_string]).encode()
    return _KEY_PREFIX + hashlib.sha256(text).hexdigest()


@functools.lru_cache(maxsize=256)  # one per model and kwargs: calls repeat them
def _without_credentials(llm_string: str) -> str:
    """``llm_string`` with the values of credential-named entries masked.

    LangChain writes it as the model's serialised JSON, ``---`` and the repr of the
    sorted call kwargs (or that repr alone, for a model that does not serialise). Its
    serialiser already turns secret fields into references, but not a header or a
    kwarg holding a key, so those keys changed with the credential (a rotated key
    emptied the cache) and made the key a digest of it. A part with nothing to mask,
    or that does not parse, is kept byte for byte, so existing entries keep their keys.
    """
    head, separator, tail = llm_string.partition("---")
    if not separator:
        return _masked_repr(head)
    try:
        serialised = json.loads(head)
    except ValueError:
        return llm_string
    masked = _masked(serialised)
    head = head if masked == serialised else json.dumps(masked, sort_keys=True)
    return head + separator + _masked_repr(tail)


def _masked_repr(text: str) -> str:
    """The repr of sorted call kwargs, its credentials masked (as it is if unreadable)."""
    try:
        params = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    masked = _masked(params)
    return text if masked == params else str(masked)


def _masked(value: Any) -> Any:
    """``value`` with what a credential name holds masked, LangChain's secret
    references (already no secret) and the names' places kept."""
    if isinstance(value, dict):
        return {k: _masked_entry(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return (value[0], _masked_entry(value[0], value[1]))  # a kwarg of the repr
    return value


def _masked_entry(name: Any, value: Any) -> Any:
    if not (isinstance(name, str) and is_secret_name(name)) or _is_secret_reference(value):
        return _masked(value)
    return MASK


def _is_secret_reference(value: Any) -> bool:
    return isinstance(value, dict) and value.get("lc") == 1 and value.get("type") == "secret"


def _encode(key: str, generations: Sequence[Generation]) -> bytes | None:
    """The entry of ``generations`` under ``key``; None when one is not worth replaying.

    The entry names its key (``"k"``) so that `_items` refuses it under any other: in a
    shared store, another prompt's entry copied there would otherwise be served.
    """
    if not all(_worth_replaying(g) for g in generations):
        return None
    try:
        items = [_generation_document(g) for g in generations]
        return json.dumps({"k": key, "generations": items}).encode()
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


def _items(raw: bytes, key: str) -> list[Any]:
    """The generation documents of an entry written for ``key``.

    An entry of another key, or one naming none (a bare list, as entries were written
    before they named their key), cannot be told from another prompt's answer: it is
    refused, so it is warned about once, removed and written again.
    """
    try:
        entry = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise CacheDecodeError(f"entry is not JSON: {error}") from error
    if not isinstance(entry, dict) or entry.get("k") != key:
        raise CacheDecodeError("entry was written for another key (or names none)")
    items = entry.get("generations")
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
