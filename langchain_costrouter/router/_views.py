"""What a `RoutedChatModel` shows of itself: its repr, LangChain's identifying and
LangSmith parameters, the stores it opened and its route table.

Kept apart from the entry points (`_facade`), so that file reads as what a call does.
Each view reads the router's parts (`_parts.RouterParts`), a copy's own once it is
copied; none opens or builds anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.language_models.base import LangSmithParams

from langchain_costrouter._child_models import ROUTER_LLM_TYPE
from langchain_costrouter.router._capabilities import RouterCapabilities
from langchain_costrouter.router._parts import RouterParts, store_label
from langchain_costrouter.routes import Route


class RouterViews(RouterCapabilities):
    """The repr, parameters and stores of `RoutedChatModel`; not used on its own."""

    if TYPE_CHECKING:  # `RoutedChatModel._current`

        def _current(self) -> RouterParts: ...

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """A short repr: tiers of each route, and the stores' URLs without secrets."""
        yield (
            "routes",
            {
                task: " -> ".join(" | ".join(tier) for tier in tiers)
                for task, tiers in self._current().described_routes.items()
            },
        )
        yield "default_task", self.default_task
        yield "namespace", self.namespace
        yield "cache", store_label(self.response_cache)
        yield "ledger", store_label(self.ledger)

    @property
    def _llm_type(self) -> str:
        return ROUTER_LLM_TYPE

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """Stable and secret-free: route labels, never object reprs or keys."""
        described = self._current().described_routes
        return {"routes": described, "default_task": self.default_task, "namespace": self.namespace}

    @property
    def ledger_store(self) -> Any:
        """The opened ledger (None without ``ledger=``), e.g. for ``.summary()``."""
        return self._current().ledger

    @property
    def cache_store(self) -> Any:
        """The router-owned cache (None without ``cache=``)."""
        cache = self._current().stages.cache
        return getattr(cache, "cache", None)

    @property
    def shadow_evaluator(self) -> Any:
        """The running shadow evaluation (`NoShadow` without ``shadow=``): stats, drain."""
        return self._current().stages.shadow

    @property
    def route_table(self) -> dict[str, Route]:
        return self.routes  # normalised in model_post_init

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        # Built directly: the base class probes attributes through exceptions, which
        # costs more than the rest of the router's per-call work.
        params = self._current().ls_params.copy()
        if model := kwargs.get("model"):
            params["ls_model_name"] = model
        if stop:
            params["ls_stop"] = stop
        for key in ("temperature", "max_tokens"):
            if isinstance(kwargs.get(key), int | float):
                params[f"ls_{key}"] = kwargs[key]  # type: ignore[literal-required]
        return params
