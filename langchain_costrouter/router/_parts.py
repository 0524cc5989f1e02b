"""A router's parts, built once from its fields: route table, cache, ledger, prices, telemetry.

`RoutedChatModel` builds its `RouterParts` at construction. A copy of the router
(``model_copy``) gets parts of its own, built from its own fields, that share the
already opened cache and ledger. The stores are opened in `_stores`, which closes them
again when a part built after them fails.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal, Protocol

from langchain_core.language_models.base import LangSmithParams

from langchain_costrouter._secrets import shown_url
from langchain_costrouter.budgets import Budget, Gate, RateLimit, WorstCase
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger import Ledger
from langchain_costrouter.pricing import PriceTable, TokenCounts
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._breakers import CircuitBreakers
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._cache import CacheStage, RouterCache
from langchain_costrouter.router._cascade import CascadeParts, RetryPolicy
from langchain_costrouter.router._compress import Compressors
from langchain_costrouter.router._flow import Stages
from langchain_costrouter.router._record import NoLedger, Recorder
from langchain_costrouter.router._request import RouteTable
from langchain_costrouter.router._shadow import RouterShadow, Shadow, open_shadow
from langchain_costrouter.router._stores import (
    Opened,
    closed_on_failure,
    open_cache,
    open_gate,
    open_router_ledger,
)
from langchain_costrouter.routes import Deployment, Route, known_models
from langchain_costrouter.telemetry import RouterTelemetry, open_telemetry


class RouterFields(Protocol):
    """The fields of `RoutedChatModel` its parts are built from."""

    routes: dict[str, Route]
    default_task: str | None
    unknown_task: Literal["error", "default"]
    namespace: str
    response_cache: Any
    ledger: Any
    reference_model: str | None
    prices: Any
    retry: RetryPolicy
    breakers: CircuitBreakers
    default_max_tokens: int
    compressors: dict[str, Any]
    budgets: list[Budget]
    budget_store: Any
    on_budget_store_error: Literal["refuse", "allow"]
    budget_lease_seconds: float
    rate_limits: dict[str, RateLimit]
    on_soft_limit: Any
    telemetry: Any
    trace_content: bool
    shadow: Any


@dataclass(frozen=True, slots=True)
class RouterParts:
    """Everything a routed call needs from its router, read on every call."""

    table: RouteTable
    stages: Stages
    ledger: Ledger | None
    described_routes: dict[str, list[list[str]]]
    """Route labels for `_identifying_params` (stable and secret-free)."""
    ls_params: LangSmithParams
    """What LangSmith is told of a call that pins no model (copied per call)."""
    telemetry: RouterTelemetry
    """Spans and metrics of each call (`NoTelemetry` when nothing reports)."""
    opened: Opened
    """The stores the router opened from its fields' URLs, closed by its ``close()``
    (shared by its copies, which share the stores)."""


def build_parts(
    fields: RouterFields,
    *,
    cache: CacheStage | None = None,
    ledger: Ledger | None = None,
    gate: Gate | None = None,
    shadow: Shadow | None = None,
    opened: Opened | None = None,
) -> RouterParts:
    """Parts for ``fields``; ``cache``, ``ledger``, ``gate`` and ``shadow`` reuse open ones,
    which ``opened`` closes (what this build opens is closed with them).

    A part that fails closes the stores opened before it (`_stores`): the caller gets
    the `ConfigError`, and no connection, file or thread is left behind.
    """
    routes = fields.routes
    accountant = _accountant(fields.prices, fields.reference_model, routes)
    _check_capped_routes(routes, accountant)  # before any store opens
    with closed_on_failure() as building:
        if cache is None:
            cache = open_cache(fields.response_cache, fields.namespace, building)
        if ledger is None:
            ledger = open_router_ledger(fields.ledger, building)
        cascade = CascadeParts(
            accountant,
            fields.breakers,
            fields.retry,
            random.Random(),
            fields.default_max_tokens,
            _budgets(fields, accountant.prices, gate, building),
            ledger,
        )
        telemetry = open_telemetry(fields.telemetry, content=fields.trace_content)
        telemetry.watch(fields.breakers)
        telemetry.watch_budgets(cascade.budgets.gate)
        recorder = Recorder(
            accountant, ledger if ledger is not None else NoLedger(), fields.namespace
        )
        if shadow is None:
            shadow = open_shadow(
                fields.shadow, routes, accountant, recorder.ledger, _url(ledger), cascade.budgets
            )
            if isinstance(shadow, RouterShadow):
                building.add("shadow evaluation", shadow.close_warned)
        parts = _assembled(fields, cache, ledger, cascade, recorder, shadow, telemetry, building)
    if opened is not None:  # a copy's: its stores are the original's
        opened.take(building)
        parts = replace(parts, opened=opened)
    return parts


def _assembled(
    fields: RouterFields,
    cache: CacheStage,
    ledger: Ledger | None,
    cascade: CascadeParts,
    recorder: Recorder,
    shadow: Shadow,
    telemetry: RouterTelemetry,
    opened: Opened,
) -> RouterParts:
    routes, default_task = fields.routes, fields.default_task
    first = routes[default_task or next(iter(routes))]
    return RouterParts(
        table=RouteTable(routes, default_task, fields.unknown_task),
        stages=Stages(cache, Compressors(fields.compressors), cascade, recorder, shadow),
        ledger=ledger,
        described_routes={task: route.describe() for task, route in routes.items()},
        ls_params=LangSmithParams(
            ls_provider="costrouter",
            ls_model_type="chat",
            ls_model_name=first.tiers[0].primary.model_id,
        ),
        telemetry=telemetry,
        opened=opened,
    )


def rebuild_parts(parts: RouterParts, fields: RouterFields) -> RouterParts:
    """Parts for a copy of a router: its own fields, the original's open stores."""
    cache = parts.stages.cache
    if isinstance(cache, RouterCache):
        cache = RouterCache(cache.cache, fields.namespace)
    gate = parts.stages.cascade.budgets.gate
    shadow = parts.stages.shadow
    return build_parts(
        fields, cache=cache, ledger=parts.ledger, gate=gate, shadow=shadow, opened=parts.opened
    )


def _check_capped_routes(routes: Mapping[str, Route], accountant: Accountant) -> None:
    """A route with ``max_cost_usd`` must be able to price every model it may call.

    The cap skips a tier whose worst case would exceed it; a model with no price has no
    worst case, and calling it anyway would spend an unknown amount under a cap (an
    unknown price is never $0). Shared budgets refuse such a model the same way.
    """
    for task, route in routes.items():
        if route.max_cost_usd is None:
            continue
        for deployment in route.deployments:
            if accountant.estimate(deployment, 1, 1) is None:
                raise ConfigError(
                    f"model {deployment.priced_as!r} has no price, so the route's "
                    f"max_cost_usd={route.max_cost_usd:g} cannot hold it. Give it one with "
                    "PriceTable(overrides={...: ModelPrice(...)}) or a price in its "
                    "[models.*] table, or drop max_cost_usd from this route.",
                    key=f"routes.{task}",
                )


def store_label(spec: Any) -> str | None:
    """A cache or ledger as the user named it, for a repr: a URL without its password."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return "default"
    if isinstance(spec, str):
        return shown_url(spec)
    url = getattr(spec, "url", None)
    return shown_url(url) if isinstance(url, str) else type(spec).__name__


def _budgets(
    fields: RouterFields, prices: PriceTable, gate: Gate | None, opened: Opened
) -> Budgets:
    """The shared budgets and rate limits (a gate that does nothing when there are none)."""
    if gate is None:
        gate = open_gate(
            fields.budgets,
            fields.budget_store,
            opened,
            rate_limits=fields.rate_limits,
            on_soft_limit=fields.on_soft_limit,
            on_store_error=fields.on_budget_store_error,
            lease_seconds=fields.budget_lease_seconds,
        )
    return Budgets(gate, WorstCase(prices), max_wait=fields.retry.backoff_cap)


def _url(ledger: Ledger | None) -> str | None:
    return None if ledger is None else ledger.url


def _accountant(prices: Any, reference: str | None, routes: Mapping[str, Route]) -> Accountant:
    """The router's price table, and its reference model (default: the priciest routed),
    priced under its provider when it is a routed model."""
    table = prices if isinstance(prices, PriceTable) else PriceTable()
    deployments = known_models(routes.values())
    if reference is None:
        priciest = priciest_deployment(table, deployments)
        reference = None if priciest is None else priciest.priced_as
    routed = next((d for d in deployments if reference in (d.priced_as, d.model_id)), None)
    provider = None if routed is None else routed.provider
    return Accountant(prices=table, reference_model=reference, reference_provider=provider)


def priciest_deployment(table: PriceTable, deployments: Sequence[Deployment]) -> Deployment | None:
    """The deployment with the highest blended price (3 input : 1 output tokens, as
    `PriceTable.most_expensive` ranks), each looked up under its provider; None when
    none has a price. A request fee is left out: it says nothing of the model's tier.
    ``costrouter collect`` picks its strongest model by the same rule."""
    blend, ranked = TokenCounts(input=3, output=1), {}
    for deployment in deployments:
        model, provider = deployment.priced_as, deployment.provider
        if table.knows(model, provider=provider):
            cost = table.price(model, blend, provider=provider).cost_usd
            fee = table.price(model, None, provider=provider).cost_usd
            ranked[deployment.label] = (cost or Decimal(0)) - (fee or Decimal(0)), deployment
    return max(ranked.values(), key=lambda item: item[0])[1] if ranked else None
