"""The router ``collect`` calls models through, built from the user's config file.

It is the product's router with the config's providers, prices, retry policy and
ledger, and one route for the collected task holding every named model (called one at
a time with ``model=``), so a model no route uses yet can be collected too. The cache
and compression are off: an eval measures each model on the prompt as written, and a
cached answer would record a cost of $0.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_core.messages.ai import UsageMetadata

from langchain_costrouter._unknown_keys import did_you_mean
from langchain_costrouter.chat_model import RoutedChatModel
from langchain_costrouter.collect.estimate import PriceFunction
from langchain_costrouter.config import load_models, load_router_kwargs
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.router import CircuitBreakers
from langchain_costrouter.router._parts import priciest_deployment
from langchain_costrouter.routes import Deployment, Route, Tier


def collect_router(
    config: Path, task: str, names: Sequence[str], *, ledger: str | None = None
) -> RoutedChatModel:
    """A router on ``config`` whose route ``task`` holds the models ``names`` (config names)."""
    kwargs: dict[str, Any] = load_router_kwargs(config)
    deployments = _named(load_models(config), names, config)
    route = Route(tiers=(Tier(deployments=tuple(deployments.values())),))
    kwargs.update(
        routes={**kwargs["routes"], task: route},
        cache=None,
        compressors={},
        breakers=CircuitBreakers(),  # this run's faults only: production's stay its own
        ledger=ledger or kwargs.get("ledger") or True,
    )
    router = RoutedChatModel(**kwargs)
    _check_prices(router.prices, deployments)
    return router


def price_function(router: RoutedChatModel, names: Sequence[str]) -> PriceFunction:
    """Dollars of a call of a named model, from the router's own price table."""
    table: PriceTable = router.prices
    route = router.route_table
    deployments = {
        d.model_id: d for r in route.values() for d in r.deployments if d.model_id in names
    }

    def price(model: str, input_tokens: int, output_tokens: int) -> Decimal | None:
        deployment = deployments[model]
        usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        return table.price(deployment.priced_as, usage, provider=deployment.provider).cost_usd

    return price


def strongest_model(router: RoutedChatModel, names: Sequence[str]) -> str:
    """The priciest of ``names`` (the router's rule for its reference model), each priced
    under its provider: genai-prices knows some models (Groq's) under their provider only."""
    named = [d for r in router.route_table.values() for d in r.deployments if d.model_id in names]
    chosen = priciest_deployment(router.prices, named)
    assert chosen is not None, "prices were checked when the router was built"
    return chosen.model_id


def _named(
    models: dict[str, Deployment], names: Sequence[str], config: Path
) -> dict[str, Deployment]:
    for name in names:
        if name not in models:
            raise ConfigError(
                f"model {name!r} is not in the config's [models]; "
                f"{did_you_mean(name, models)}known: {', '.join(sorted(models))}",
                path=str(config),
            )
    return {name: models[name] for name in dict.fromkeys(names)}


def _check_prices(table: PriceTable, deployments: dict[str, Deployment]) -> None:
    """Outcomes need every answer's cost: a model without a price is refused up front."""
    unpriced = [
        name for name, d in deployments.items() if not table.knows(d.priced_as, provider=d.provider)
    ]
    if unpriced:
        raise ConfigError(
            f"no price known for {unpriced}; give each a price in the config "
            '([models."NAME"] price = { input_per_mtok = ..., output_per_mtok = ... }), '
            "since every outcome records what its answer cost"
        )
