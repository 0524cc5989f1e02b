"""``costrouter routes``: show the routes, tiers and prices a config file defines."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from langchain_core.messages.ai import UsageMetadata

from langchain_costrouter._child_models import model_id_of
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.router_fields import config_errors
from langchain_costrouter.routes import Route

EXAMPLE = "bundled example config"
_NO_STORES = {"cache": None, "ledger": None, "shadow": None, "budget_store": "memory://"}
"""What `run` puts in place of the file's stores."""


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter routes``."""
    parser.add_argument("config", nargs="?", help="a costrouter TOML file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from langchain_costrouter.chat_model import RoutedChatModel

    path = Path(args.config) if args.config else example_config_path()
    with config_errors():  # a ValidationError from building the router, as our ConfigError
        # Showing the routes opens none of the file's stores: that would create them (a
        # ledger database, a cache directory, a budget store's SQLite file) as a side
        # effect of reading a config. Budgets are still checked, on a store in memory.
        router = RoutedChatModel.from_config(path, **_NO_STORES)
    prices = router.prices if isinstance(router.prices, PriceTable) else PriceTable()
    table = {task: _describe(route, prices) for task, route in router.route_table.items()}
    options = _every_route_options(router)
    if args.json:
        shown = {"config": str(path), "default_task": router.default_task, "routes": table}
        print(json.dumps({**shown, "route_options": options}))
        return 0
    print(f"Routes in {path} (default task: {router.default_task}):")
    for task, tiers in table.items():
        print("\n".join(_route_lines(task, tiers, options[task])))
    return 0


def _route_lines(task: str, tiers: list[list[dict[str, str]]], options: RouteOptions) -> list[str]:
    """A line per tier (its models, prices and the check that escalates past it), then
    the route's cap, cache and compression when they are set."""
    lines = []
    for index, (tier, check) in enumerate(zip(tiers, options["checks"], strict=True)):
        label = task if index == 0 else ""
        models = ", ".join(f"{m['model']} ({m['provider']}, {m['price']})" for m in tier)
        if check is not None:
            otherwise = "the next tier" if index < len(tiers) - 1 else "the best-scoring answer"
            models += f"; check {check['check']} >= {check['threshold']:g}, else {otherwise}"
        lines.append(f"  {label:<15} tier {index}: {models}")
    cap = options["max_cost_usd"]
    notes = [] if cap is None else [f"at most ${cap:g} per request"]
    notes += [] if options["cache"] else ["cache off"]
    if notes:
        lines.append(f"  {'':<15} {'; '.join(notes)}")
    compression = options["compression"]
    if compression is not None:
        model = compression["model"] or "no model"
        how = ", ".join(compression["strategies"])
        ratio = f"{compression['target_ratio']:.0%}"
        lines.append(f"  {'':<15} compression: {model} ({how}) to {ratio} of the prompt")
    return lines


RouteOptions = dict[str, Any]


def _every_route_options(router: Any) -> dict[str, RouteOptions]:
    """`route_options` of each task, with the compressor the router runs for it."""
    names = {
        id(deployment.model): deployment.model_id
        for route in router.route_table.values()
        for tier in route.tiers
        for deployment in tier.deployments
    }
    compressors = router.compressors
    return {
        task: route_options(route, compressors.get(task, compressors.get("*")), names)
        for task, route in router.route_table.items()
    }


def route_options(route: Route, compressor: Any, names: Mapping[int, str]) -> RouteOptions:
    """What decides a call's path besides the tiers' models: each tier's check and
    threshold, the route's cost cap and cache, and the compressor run before it (its
    model by the name the tiers show, ``names``: model object id -> name)."""
    checks = [
        None if tier.check is None else {"check": tier.check.name, "threshold": tier.threshold}
        for tier in route.tiers
    ]
    compression = None
    if compressor is not None:
        settings = compressor.settings
        compression = {
            "model": _model_name(compressor.llm, names),
            "strategies": list(settings.strategies),
            "target_ratio": settings.target_ratio,
        }
    return {
        "checks": checks,
        "max_cost_usd": route.max_cost_usd,
        "cache": route.cache,
        "compression": compression,
    }


def _model_name(model: Any, names: Mapping[int, str]) -> str | None:
    if model is None:
        return None
    return names.get(id(model)) or model_id_of(model)


def example_config_path() -> Path:
    """The example config shipped in the package (a copy of examples/costrouter.toml)."""
    return Path(str(resources.files("langchain_costrouter") / "data" / "costrouter.toml"))


def _describe(route: Route, prices: PriceTable) -> list[list[dict[str, str]]]:
    return [
        [
            {
                "model": d.model_id,
                "provider": d.provider,
                "price": _price_label(prices, d.priced_as, d.provider),
            }
            for d in tier.deployments
        ]
        for tier in route.tiers
    ]


def _price_label(prices: PriceTable, model: str, provider: str) -> str:
    """Dollars per million input / output tokens (and a request fee), or 'price unknown'.

    Looked up under the deployment's provider, as its calls are priced: genai-prices knows
    some models (Groq's, Perplexity's) under their provider only.
    """
    one_million = 1_000_000
    fee, cost_in, cost_out = (
        prices.price(model, usage, provider=provider).cost_usd
        for usage in (
            None,
            UsageMetadata(input_tokens=one_million, output_tokens=0, total_tokens=one_million),
            UsageMetadata(input_tokens=0, output_tokens=one_million, total_tokens=one_million),
        )
    )
    if fee is None or cost_in is None or cost_out is None:
        return "price unknown"
    label = f"${(cost_in - fee).normalize():f}/${(cost_out - fee).normalize():f} per M in/out"
    return f"{label} + ${fee.normalize():f} per request" if fee else label
