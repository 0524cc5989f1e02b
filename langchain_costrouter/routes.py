"""The route table: which models may answer which task label, in what order.

Everything here is data: a route is tiers of interchangeable deployments, each tier
with an optional quality check. `RoutedChatModel` normalises what the user gives it
(chat models, lists, `Tier`s, `Route`s) into this form once; the request path
(`langchain_costrouter.router`) then reads it on every call.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.errors import ConfigError


@dataclass(frozen=True)
class Deployment:
    """One model on one provider. Deployments of a tier are failover alternatives."""

    model: BaseChatModel
    model_id: str
    provider: str
    context_window: int | None = None
    price_model: str | None = None
    """The name to look up in the price table, when it differs from ``model_id``."""
    breaker_key: str = field(init=False, repr=False, compare=False)
    """What the circuit breaker tracks: provider, endpoint and model, so a dead endpoint
    never trips a healthy one of the same provider, and one model's successes never
    reset another's failures."""

    def __post_init__(self) -> None:
        endpoint = endpoint_of(self.model) or ""
        object.__setattr__(self, "breaker_key", f"{self.provider}|{endpoint}|{self.model_id}")

    @classmethod
    def of(cls, model: BaseChatModel | Deployment) -> Deployment:
        """Wrap a chat model, naming it from its own fields (no memory addresses)."""
        if isinstance(model, Deployment):
            return model
        return cls(model=model, model_id=model_id_of(model), provider=provider_of(model))

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model_id}"

    @property
    def priced_as(self) -> str:
        return self.price_model or self.model_id


@dataclass(frozen=True)
class Tier:
    """A rung of the cascade: deployments tried in order, then a check on the answer.

    An answer is accepted when ``check`` is None or its score is at least ``threshold``.
    """

    deployments: tuple[Deployment, ...]
    check: QualityCheck | None = None
    threshold: float = 0.5

    @classmethod
    def of(
        cls,
        spec: Tier | BaseChatModel | Deployment | Sequence[Any],
        *,
        check: QualityCheck | None = None,
        threshold: float = 0.5,
    ) -> Tier:
        """A tier of one model, or of several interchangeable ones (failover order)."""
        if isinstance(spec, Tier):
            return spec
        items = [spec] if isinstance(spec, BaseChatModel | Deployment) else list(spec)
        deployments = tuple(Deployment.of(item) for item in items)
        return cls(deployments=deployments, check=check, threshold=threshold)

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]


@dataclass(frozen=True)
class Route:
    """The ordered tiers serving one task label, cheapest first, and its budget."""

    tiers: tuple[Tier, ...]
    max_cost_usd: float | None = None
    version: str = "1"
    cache: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: Route | BaseChatModel | Tier | Sequence[Any], *, task: str) -> Route:
        """Accept a Route, a single model or a list of tiers (models, Tiers or lists)."""
        if isinstance(spec, Route):
            route = spec
        elif isinstance(spec, BaseChatModel | Tier | Deployment):
            route = cls(tiers=(Tier.of(spec),))
        elif isinstance(spec, Sequence) and not isinstance(spec, str):
            route = cls(tiers=tuple(Tier.of(item) for item in spec))
        else:
            raise ConfigError(
                f"a route must be a chat model, a Route or a list of tiers, got {type(spec)!r}",
                key=f"routes.{task}",
            )
        if not route.tiers or any(not tier.deployments for tier in route.tiers):
            raise ConfigError(
                "a route needs at least one tier with one model", key=f"routes.{task}"
            )
        return route

    @property
    def deployments(self) -> list[Deployment]:
        return [d for tier in self.tiers for d in tier.deployments]

    def describe(self) -> list[list[str]]:
        """A stable, secret-free description: tiers of provider/model labels."""
        return [[d.label for d in tier.deployments] for tier in self.tiers]


def model_id_of(model: BaseChatModel) -> str:
    """The model id a chat model calls, e.g. ``gpt-4o-mini``; its class name if none."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type


def endpoint_of(model: BaseChatModel | None) -> str | None:
    """The base URL a chat model calls, when it has one (``ChatOpenAI(base_url=...)``)."""
    for attr in ("openai_api_base", "base_url", "api_base", "endpoint"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return None


def provider_of(model: BaseChatModel) -> str:
    """The provider a chat model talks to, from LangSmith params or its type."""
    try:
        provider = model._get_ls_params().get("ls_provider")
    except (AttributeError, NotImplementedError, TypeError):
        provider = None
    return provider or model._llm_type


def normalise_routes(routes: Mapping[str, Any]) -> dict[str, Route]:
    """Turn the user's route spec into Route objects, keyed by task label."""
    if not isinstance(routes, Mapping) or not routes:
        raise ConfigError("routes must be a non-empty mapping of task label -> tiers", key="routes")
    return {str(task): Route.of(spec, task=str(task)) for task, spec in routes.items()}


def known_models(routes: Iterable[Route]) -> list[Deployment]:
    """Every deployment in the table, in route order, without repeats."""
    seen: dict[str, Deployment] = {}
    for route in routes:
        for deployment in route.deployments:
            seen.setdefault(deployment.label, deployment)
    return list(seen.values())


def pinned_route(routes: Iterable[Route], model: str) -> Route:
    """A one-tier route to the deployment called ``model``: what ``invoke(..., model=)`` asks."""
    deployments = [d for d in known_models(routes) if model in (d.model_id, d.label)]
    if not deployments:
        known = ", ".join(d.model_id for d in known_models(routes))
        raise ConfigError(
            f"model {model!r} is not in any route; routed models: {known}", key="model"
        )
    return Route(tiers=(Tier(deployments=tuple(deployments)),), version=f"pinned:{model}")


def warn_about_child_retries(routes: Iterable[Route]) -> None:
    """Warn about children that retry on their own: the router should be the only retry loop.

    A child SDK retrying inside the router multiplies latency before a failover and hides
    faults from the circuit breaker. ``max_retries=None`` on ChatOpenAI means the SDK
    default (two retries).
    """
    for deployment in known_models(routes):
        retries = getattr(deployment.model, "max_retries", 0)
        if retries is None or (isinstance(retries, int) and retries > 0):
            warnings.warn(
                f"{deployment.label} retries on its own (max_retries={retries}); build it "
                "with max_retries=0 so that the router's retry, failover and circuit breaker "
                "see every fault.",
                UserWarning,
                stacklevel=4,
            )
