"""The route table: which models may answer which task label, in what order.

Everything here is data: a route is tiers of interchangeable deployments, each tier
with an optional quality check. `RoutedChatModel` normalises what the user gives it
(chat models, lists, `Tier`s, `Route`s) into this form once; the request path
(`langchain_costrouter.router`) then reads it on every call. A deployment's names are
read from its chat model's own fields, and a child the router cannot serve is refused,
by `_child_models`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel

from langchain_costrouter._child_models import (
    check_not_a_router,
    check_one_answer,
    endpoint_of,
    model_id_of,
    output_cap_of,
    provider_of,
    warn_if_retrying,
)
from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.values import label, number_in, whole_number

T = TypeVar("T")


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

    output_cap: int | None = field(init=False, repr=False, compare=False)
    """The model's own output cap (``max_tokens``), read once: checked on every answer."""

    def __post_init__(self) -> None:
        endpoint = endpoint_of(self.model) or ""
        object.__setattr__(self, "breaker_key", f"{self.provider}|{endpoint}|{self.model_id}")
        object.__setattr__(self, "output_cap", output_cap_of(self.model))

    @classmethod
    def of(cls, model: BaseChatModel | Deployment) -> Deployment:
        """Wrap a chat model, naming it from its own fields (no memory addresses)."""
        if isinstance(model, Deployment):
            return model.checked()
        if not isinstance(model, BaseChatModel):
            raise ConfigError(f"expected a chat model or a Deployment, got {model!r}")
        return cls(model=model, model_id=model_id_of(model), provider=provider_of(model))

    def checked(self) -> Deployment:
        """This deployment, when every field has the type the router relies on."""
        if not isinstance(self.model, BaseChatModel):
            raise ConfigError(f"expected a chat model, got {self.model!r}", key="model")
        label(self.model_id, "model_id")
        label(self.provider, "provider")
        if self.context_window is not None:
            whole_number(self.context_window, "context_window", low=1)
        check_one_answer(self.model)
        check_not_a_router(self.model)
        return self

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
        """A tier of one model, or of several interchangeable ones (failover order).

        The threshold is a check score, so it must lie in [0, 1].
        """
        if isinstance(spec, Tier):
            return spec.checked()
        number_in(threshold, "threshold", low=0.0, high=1.0)
        if isinstance(spec, BaseChatModel | Deployment):
            items: list[Any] = [spec]
        elif isinstance(spec, Sequence) and not isinstance(spec, str):
            items = list(spec)
        else:
            raise ConfigError(
                f"a tier is a chat model, a Deployment or a list of them, got {spec!r}"
            )
        deployments = tuple(_located(Deployment.of, item, f"[{i}]") for i, item in enumerate(items))
        return cls(deployments=deployments, check=check, threshold=threshold).checked()

    def checked(self) -> Tier:
        """This tier, when it has deployments, a check or None, and a numeric threshold.

        A threshold above 1 is allowed here: calibration writes one for "never accept".
        """
        _check_each(self.deployments, Deployment, key="deployments", index_key="")
        if self.check is not None and not isinstance(self.check, QualityCheck):
            raise ConfigError(
                f"expected a quality check (score/ascore methods) or None, got {self.check!r}",
                key="check",
            )
        number_in(self.threshold, "threshold", low=-math.inf)
        return self

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
        """Accept a Route, a single model or a list of tiers (models, Tiers or lists).

        Raises:
            ConfigError: naming the key under ``routes.<task>`` that is wrong.
        """
        key = f"routes.{task}"
        if isinstance(spec, Route):
            return _located(Route.checked, spec, key)
        if isinstance(spec, BaseChatModel | Tier | Deployment):
            return cls(tiers=(_located(Tier.of, spec, key),))
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            if not spec:
                raise ConfigError("a route needs at least one tier with one model", key=key)
            tiers = tuple(_located(Tier.of, item, f"{key}[{i}]") for i, item in enumerate(spec))
            return cls(tiers=tiers)
        raise ConfigError(
            f"a route must be a chat model, a Route or a list of tiers, got {spec!r}", key=key
        )

    def checked(self) -> Route:
        """This route, when its tiers and budget are well-formed."""
        _check_each(self.tiers, Tier, key="tiers", index_key="tiers")
        if self.max_cost_usd is not None:
            number_in(self.max_cost_usd, "max_cost_usd", low=0.0, low_included=False)
        return self

    @property
    def deployments(self) -> list[Deployment]:
        return [d for tier in self.tiers for d in tier.deployments]

    def describe(self) -> list[list[str]]:
        """A stable, secret-free description: tiers of provider/model labels."""
        return [[d.label for d in tier.deployments] for tier in self.tiers]


def normalise_routes(routes: Mapping[str, Any]) -> dict[str, Route]:
    """Turn the user's route spec into Route objects, keyed by task label.

    Raises:
        ConfigError: naming the route (``routes.chat[0]``) and what is wrong with it.
    """
    if not isinstance(routes, Mapping) or not routes:
        raise ConfigError("routes must be a non-empty mapping of task label -> tiers", key="routes")
    for task in routes:
        label(task, "routes (task label)")
    return {task: Route.of(spec, task=task) for task, spec in routes.items()}


def _check_each(items: Any, kind: type[Deployment | Tier], *, key: str, index_key: str) -> None:
    """``items`` is a non-empty tuple of well-formed ``kind``; errors keyed ``index_key[i]``."""
    if not isinstance(items, tuple) or not items:
        raise ConfigError(f"expected a tuple of at least one {kind.__name__}", key=key)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise ConfigError(
                f"expected a {kind.__name__}, got {item!r}", key=f"{index_key}[{index}]"
            )
        _located(type(item).checked, item, f"{index_key}[{index}]")


def _located(build: Callable[[Any], T], spec: Any, key: str) -> T:
    """``build(spec)``, with a ConfigError's key placed under ``key``."""
    try:
        return build(spec)
    except ConfigError as error:
        inner = error.key or ""
        joiner = "" if not inner or inner.startswith("[") else "."
        raise ConfigError(error.reason, key=f"{key}{joiner}{inner}") from None


def known_models(routes: Iterable[Route]) -> list[Deployment]:
    """Every deployment in the table, in route order, without repeats."""
    seen: dict[str, Deployment] = {}
    for route in routes:
        for deployment in route.deployments:
            seen.setdefault(deployment.label, deployment)
    return list(seen.values())


PINNED = "pinned:"
"""The version prefix of a route `pinned_route` made for one call."""


def pinned_route(routes: Iterable[Route], model: str) -> Route:
    """A one-tier route to the deployment called ``model``: what ``invoke(..., model=)`` asks."""
    deployments = [d for d in known_models(routes) if model in (d.model_id, d.label)]
    if not deployments:
        known = ", ".join(d.model_id for d in known_models(routes))
        raise ConfigError(
            f"model {model!r} is not in any route; routed models: {known}", key="model"
        )
    return Route(tiers=(Tier(deployments=tuple(deployments)),), version=f"{PINNED}{model}")


def warn_about_child_retries(routes: Iterable[Route]) -> None:
    """Warn about each child of the table that retries on its own (`warn_if_retrying`)."""
    for deployment in known_models(routes):
        warn_if_retrying(deployment.label, deployment.model)
