"""What a caller's key-value store raises when it is down, slow or out of space.

The compression memo and the batcher's item cache take any store with ``get`` and
``set`` (a dict, ``diskcache.Cache``, ``redis.Redis``), and a store that fails must cost
them the store only: a miss with a warning, never the call. The builtin errors do not
cover those stores' own: redis-py's ``RedisError`` (its ``ConnectionError`` is not the
builtin one), diskcache's ``Timeout`` and sqlite3's ``Error`` under it. Each is listed
once its module is imported, which it is before one of its stores can exist.
"""

from __future__ import annotations

from langchain_costrouter._lazy import class_if_imported

_BUILTIN = (OSError, ConnectionError, TimeoutError)
_LIBRARIES = (("redis", "RedisError"), ("diskcache", "Timeout"), ("sqlite3", "Error"))


def store_failures() -> tuple[type[Exception], ...]:
    """The exceptions that mean the store failed, not the caller."""
    loaded = (class_if_imported(module, name) for module, name in _LIBRARIES)
    return (*_BUILTIN, *(cls for cls in loaded if cls is not None and issubclass(cls, Exception)))
