"""``costrouter routes``: show the routes, tiers and prices a config file defines."""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

from langchain_core.messages.ai import UsageMetadata

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
    if args.json:
        print(
            json.dumps({"config": str(path), "default_task": router.default_task, "routes": table})
        )
        return 0
    print(f"Routes in {path} (default task: {router.default_task}):")
    for task, tiers in table.items():
        for index, tier in enumerate(tiers):
            label = task if index == 0 else ""
            models = ", ".join(f"{m['model']} ({m['provider']}, {m['price']})" for m in tier)
            print(f"  {label:<15} tier {index}: {models}")
    return 0


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
