"""TOML configuration: providers, models and routes, so switching providers is a config edit.

Every error names the file, the key and what was expected. API keys are never in the
file: a provider names the environment variable that holds its key, read at request
time, so a missing key is reported at first use with the variable's name (and a key
set after start-up is picked up).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_costrouter.errors import ConfigError, MissingAPIKeyError
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.routes import Deployment, Route, Tier

_PROVIDER_KEYS = {"base_url", "api_key_env", "timeout", "max_retries", "kind", "headers"}
_MODEL_KEYS = {"provider", "model", "price", "params", "context_window"}
_ROUTER_KEYS = {
    "default_task",
    "namespace",
    "cache",
    "ledger",
    "reference_model",
    "unknown_task",
    "policy",
    "default_max_tokens",
    "compress",
}
# Router keys that configure the loader's output rather than a RoutedChatModel field.
_LOADER_KEYS = {"policy", "compress"}


@dataclass(frozen=True)
class EnvAPIKey:
    """An API key read from the environment at request time; its repr shows only the name."""

    provider: str
    env_var: str

    def __call__(self) -> str:
        value = os.environ.get(self.env_var)
        if not value:
            raise MissingAPIKeyError(self.provider, self.env_var)
        return value

    def __repr__(self) -> str:
        return f"EnvAPIKey(env_var={self.env_var!r})"


def load_router_kwargs(path: Path) -> dict[str, Any]:
    """Read ``path`` and return the keyword arguments of `RoutedChatModel`."""
    data = _read_toml(path)
    reader = _Reader(path=str(path))
    providers = reader.table(data, "providers")
    models = reader.table(data, "models")
    prices = PriceTable(reader.prices(models))
    deployments = {
        name: _priced(reader.deployment(name, spec, providers), prices)
        for name, spec in models.items()
    }
    route_specs = reader.table(data, "routes")
    routes = {task: reader.route(task, spec, deployments) for task, spec in route_specs.items()}
    router = data.get("router", {})
    reader.known_keys(router, _ROUTER_KEYS, "router")
    kwargs: dict[str, Any] = {"routes": routes, "prices": prices}
    kwargs.update({k: v for k, v in router.items() if k not in _LOADER_KEYS})
    compressors = reader.compressors(route_specs, router.get("compress"), deployments)
    if compressors:
        kwargs["compressors"] = compressors
    if "policy" in router:
        kwargs["routes"] = reader.apply_policy(router["policy"], routes, deployments)
    return kwargs


def _priced(deployment: Deployment, prices: PriceTable) -> Deployment:
    """Price by the provider's model id when the price table knows it, else by config name."""
    if deployment.price_model and not prices.knows(deployment.price_model):
        return replace(deployment, price_model=None)
    return deployment


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError("the file does not exist", path=str(path)) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}", path=str(path)) from error


@dataclass(frozen=True)
class _Reader:
    path: str

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(expected, path=self.path, key=key)

    def table(self, data: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict) or not value:
            raise self.fail(key, f"expected a non-empty table [{key}]")
        return value

    def known_keys(self, spec: Mapping[str, Any], allowed: set[str], key: str) -> None:
        unknown = set(spec) - allowed
        if unknown:
            raise self.fail(key, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")

    def deployment(self, name: str, spec: Any, providers: Mapping[str, Any]) -> Deployment:
        key = f"models.{name}"
        if not isinstance(spec, dict):
            raise self.fail(key, "expected a table with provider and model")
        self.known_keys(spec, _MODEL_KEYS, key)
        provider_name = spec.get("provider")
        if not isinstance(provider_name, str) or provider_name not in providers:
            raise self.fail(
                f"{key}.provider", f"expected one of {sorted(providers)}, got {provider_name!r}"
            )
        provider = providers[provider_name]
        self.known_keys(provider, _PROVIDER_KEYS, f"providers.{provider_name}")
        model_id = spec.get("model", name)
        model = self.chat_model(provider_name, provider, model_id, spec.get("params", {}), key)
        # Overrides are keyed by the config name; genai-prices knows the provider's id.
        price_model = None if "price" in spec else model_id
        return Deployment(
            model=model,
            model_id=name,
            provider=provider_name,
            context_window=spec.get("context_window"),
            price_model=price_model,
        )

    def chat_model(
        self, provider_name: str, provider: Mapping[str, Any], model_id: str, params: Any, key: str
    ) -> BaseChatModel:
        """A ChatOpenAI on the provider's endpoint; its own retries off (the router retries)."""
        from langchain_openai import ChatOpenAI

        if not isinstance(params, dict):
            raise self.fail(f"{key}.params", "expected a table of model parameters")
        base_url = provider.get("base_url")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise self.fail(f"providers.{provider_name}.base_url", "expected an http(s) URL")
        env_var = provider.get("api_key_env")
        if not isinstance(env_var, str) or not env_var:
            raise self.fail(
                f"providers.{provider_name}.api_key_env",
                "expected the NAME of the environment variable holding the API key",
            )
        return ChatOpenAI(
            model=model_id,
            base_url=base_url,
            api_key=EnvAPIKey(provider_name, env_var),
            timeout=provider.get("timeout", 60),
            max_retries=0,
            stream_usage=True,
            default_headers=provider.get("headers"),
            cache=False,
            **params,
        )

    def route(self, task: str, spec: Any, deployments: Mapping[str, Deployment]) -> Route:
        key = f"routes.{task}"
        if isinstance(spec, list):
            spec = {"tiers": spec}
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("tiers"), list)
            or not spec["tiers"]
        ):
            raise self.fail(key, "expected a list of tiers, or a table with tiers = [...]")
        tiers = tuple(
            self.tier(f"{key}.tiers[{i}]", t, deployments) for i, t in enumerate(spec["tiers"])
        )
        budget = spec.get("max_cost_usd")
        if budget is not None and not isinstance(budget, int | float):
            raise self.fail(f"{key}.max_cost_usd", "expected a number of dollars")
        return Route(tiers=tiers, max_cost_usd=budget, cache=bool(spec.get("cache", True)))

    def tier(self, key: str, spec: Any, deployments: Mapping[str, Deployment]) -> Tier:
        if isinstance(spec, str):
            spec = {"models": [spec]}
        if not isinstance(spec, dict) or not isinstance(spec.get("models"), list):
            raise self.fail(key, "expected a model name or a table with models = [...]")
        missing = [m for m in spec["models"] if m not in deployments]
        if missing or not spec["models"]:
            raise self.fail(key, f"unknown models {missing}; defined: {sorted(deployments)}")
        check = self.check(f"{key}.check", spec.get("check"), deployments)
        return Tier(
            deployments=tuple(deployments[m] for m in spec["models"]),
            check=check,
            threshold=float(spec.get("threshold", 0.5)),
        )

    def check(self, key: str, spec: Any, deployments: Mapping[str, Deployment]) -> Any:
        """A quality check; a judge check names one of the file's models."""
        if spec is None:
            return None
        from langchain_costrouter.checks import check_from_config

        models = {name: d.model for name, d in deployments.items()}
        try:
            return check_from_config(spec, key=key, chat_models=models)
        except ConfigError as error:
            raise ConfigError(str(error), path=self.path) from error

    def compressors(
        self, routes: Mapping[str, Any], everywhere: Any, deployments: Mapping[str, Deployment]
    ) -> dict[str, Any]:
        """Each route's ``compress`` table, and ``[router.compress]`` as every task's ("*")."""
        from langchain_costrouter.compression.config import compressor_from_config

        specs = {
            (task, f"routes.{task}.compress"): spec["compress"]
            for task, spec in routes.items()
            if isinstance(spec, dict) and "compress" in spec
        }
        if everywhere is not None:
            specs["*", "router.compress"] = everywhere
        models = {name: d.model for name, d in deployments.items()}
        return {
            task: compressor_from_config(spec, path=self.path, key=key, chat_models=models)
            for (task, key), spec in specs.items()
        }

    def prices(self, models: Mapping[str, Any]) -> dict[str, ModelPrice]:
        overrides = {}
        for name, spec in models.items():
            if isinstance(spec, dict) and "price" in spec:
                try:
                    overrides[name] = ModelPrice.from_mapping(spec["price"], model=name)
                except (TypeError, ValueError) as error:
                    raise self.fail(f"models.{name}.price", str(error)) from error
        return overrides

    def apply_policy(
        self, policy: Any, routes: dict[str, Route], deployments: Mapping[str, Deployment]
    ) -> dict[str, Route]:
        from langchain_costrouter.calibration.policy_routes import routes_from_policy_file

        base = Path(self.path).parent
        return {**routes, **routes_from_policy_file(base / str(policy), deployments)}
