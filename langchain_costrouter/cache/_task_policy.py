"""A response cache's per-task policy: whether a task's answers are cached, how long they
live, and which normalisation (so which key) its prompts are stored under.

`ResponseCache` (cache/response_cache.py) is one, and documents the arguments; the
lifetimes are checked here (`checked_ttl`), for `CostRouterLLMCache` too.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import TypeVar, cast

from langchain_costrouter.cache.keys import DEFAULT_NORMALIZATION, CacheRequest, Normalization
from langchain_costrouter.errors import ConfigError

V = TypeVar("V")


class TaskPolicy:
    """Per task: cached or not, for how long, under which normalisation and key."""

    def __init__(
        self,
        *,
        ttl: float | Mapping[str, float | None] | None,
        enabled_tasks: Collection[str] | None,
        disabled_tasks: Collection[str],
        normalization: Normalization | Mapping[str, Normalization],
    ) -> None:
        """Keep the policy; a ``ttl`` that is no lifetime is a `ConfigError` here."""
        self.ttl = checked_ttl(ttl)
        self.enabled_tasks = None if enabled_tasks is None else frozenset(enabled_tasks)
        self.disabled_tasks = frozenset(disabled_tasks)
        self.normalization = normalization

    def enabled_for(self, task: str) -> bool:
        """Whether answers of ``task`` are cached at all."""
        if task in self.disabled_tasks:
            return False
        return self.enabled_tasks is None or task in self.enabled_tasks

    def ttl_for(self, task: str) -> float | None:
        """Seconds an answer of ``task`` lives, None for no expiry."""
        return _per_task(self.ttl, task, None)

    def normalization_for(self, request: CacheRequest) -> Normalization:
        """The request's own normalisation, else the task's, else the default."""
        if request.normalization is not None:
            return request.normalization
        if type(self.normalization) is Normalization:  # one for all tasks: no Mapping check
            return self.normalization
        return _per_task(self.normalization, request.task, DEFAULT_NORMALIZATION)

    def key(self, request: CacheRequest) -> str:
        """The backend key of a request under its task's normalisation."""
        if request.normalization is None and self.normalization is DEFAULT_NORMALIZATION:
            return request.key  # the usual case, told without a lookup
        normalization = self.normalization_for(request)
        own = request.normalization or DEFAULT_NORMALIZATION
        if normalization is own or normalization == own:
            return request.key  # memoised on the request
        return request.key_for(normalization)


def checked_ttl(
    ttl: float | Mapping[str, float | None] | None,
) -> float | Mapping[str, float | None] | None:
    """``ttl`` when each lifetime in it is None or a positive, finite number of seconds.

    Redis failed on an infinite or NaN lifetime at the first write (out of the routed
    call), and every store kept an entry of 0 or fewer seconds dead on arrival. The
    same holds for `CostRouterLLMCache` (cache/langchain_cache.py), which checks it too.
    """
    for task, seconds in ttl.items() if isinstance(ttl, Mapping) else [(None, ttl)]:
        fine = seconds is None or (
            isinstance(seconds, int | float)
            and not isinstance(seconds, bool)
            and math.isfinite(seconds)
            and seconds > 0
        )
        if not fine:
            where = "ttl" if task is None else f"ttl[{task!r}]"
            raise ConfigError(
                f"{where} must be a positive number of seconds, or None for entries that "
                f"never expire; got {seconds!r}"
            )
    return ttl


def _per_task(value: V | Mapping[str, V], task: str, default: V) -> V:
    """One value for every task, or a mapping task -> value with a ``"*"`` default."""
    if value is not None and isinstance(value, Mapping):  # None: no ABC instance check
        return cast("V", value.get(task, value.get("*", default)))
    return value
