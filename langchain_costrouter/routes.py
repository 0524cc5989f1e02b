"""The route table: which models may answer which task label, in what order.

Everything here is data: a route is tiers of interchangeable deployments, each tier
with an optional quality check. `RoutedChatModel` normalises what the user gives it
(chat models, lists, `Tier`s, `Route`s) into this form once; the request path
(`langchain_costrouter.router`) then reads it on every call.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel

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
        object.__setattr__(self, "output_cap", _own_cap(self.model))

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
        _check_one_answer(self.model)
        _check_not_a_router(self.model)
        return self

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model_id}"

    @property
    def priced_as(self) -> str:
        return self.price_model or self.model_id


ROUTER_LLM_TYPE = "costrouter"
"""`RoutedChatModel`'s ``_llm_type``: how modules that cannot import the router know one."""


def _check_not_a_router(model: BaseChatModel) -> None:
    """A router is refused as a deployment: the outer router would price its calls as an
    unknown model, record them twice on a shared ledger (the inner router's rows and one
    for it as a model), and no budget could reserve its worst case. Its tiers, in the
    outer route, do the same routing with one row per provider call. (Known by its
    ``_llm_type``: this module cannot import the router.)"""
    if model._llm_type == ROUTER_LLM_TYPE:
        raise ConfigError(
            "a RoutedChatModel cannot be a route's deployment: its calls would be priced "
            "as an unknown model and recorded twice. Put its models in this route's tiers "
            "instead (Route(tiers=(Tier.of(cheap, check, threshold), Tier.of(strong))), "
            "its routes as more task labels of one router, or make it a PromptCompressor's "
            "model (compressors=...), where its calls are recorded once."
        )


def _check_one_answer(model: BaseChatModel) -> None:
    """A child built to ask for several choices (``ChatOpenAI(n=2)``, or ``n`` in its
    ``model_kwargs``) is refused: every choice is billed, and the router serves, checks,
    caches and records one (a call's own ``n`` is refused the same way)."""
    model_kwargs = getattr(model, "model_kwargs", None)
    for n in (getattr(model, "n", None), (model_kwargs or {}).get("n")):
        if n is not None and not (type(n) is int and n == 1):
            raise ConfigError(
                f"the chat model asks for n={n!r} answers per call; a routed call returns "
                "one, and every choice would be billed. Build it without n (or n=1).",
                key="model",
            )


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


def model_id_of(model: BaseChatModel) -> str:
    """The model id a chat model calls, e.g. ``gpt-4o-mini``; its class name if none."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type


def _own_cap(model: BaseChatModel | None) -> int | None:
    for attr in ("max_tokens", "max_completion_tokens"):
        value = getattr(model, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


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
