"""A config file, its shape already checked, built into the router's objects.

`config` reads the file and `config_schema` checks its shape; here its names are resolved
(a model's provider, a tier's models, ``router.reference_model``) and each table becomes
what `RoutedChatModel` takes: priced deployments, routes (a calibrated ``policy`` laid
over them), checks, compressors, ``[router.shadow]``, budgets and rate limits. A mistake
found here is a `ConfigError` at the key the file spells (`file_key`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_costrouter._config_paths import anchored_url
from langchain_costrouter._unknown_keys import did_you_mean
from langchain_costrouter.budgets import parse_budgets, rate_limits_from_models
from langchain_costrouter.config_models import class_model, openai_model, provider_class
from langchain_costrouter.config_schema import (
    ConfigFile,
    LangChainProviderSpec,
    ModelSpec,
    RouterSpec,
    RouteSpec,
    ShadowSpec,
    TierSpec,
)
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.router_fields import validate_router_fields
from langchain_costrouter.routes import Deployment, Route, Tier


def file_key(key: str) -> str:
    """A router argument's key as the file spells it: what the ``[router]`` table sets is
    under ``router.`` (``router.default_task``), the retry policy is its ``max_retries``."""
    field = key.split(".")[0].split("[")[0]
    if field == "retry":
        return "router.max_retries"
    return f"router.{key}" if field in RouterSpec.model_fields else key


_ROUTER_TABLE_STORES = ("cache", "ledger", "budget_store")
"""The store URLs the ``[router]`` table sets (`_config_paths` anchors their paths)."""


@dataclass(frozen=True)
class ConfigBuilder:
    """Builds the router's objects from a file whose shape `parse_config` checked."""

    path: str
    spec: ConfigFile

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(expected, path=self.path, key=key)

    def router_kwargs(self) -> dict[str, Any]:
        spec = self.spec
        prices = PriceTable(self.prices())
        deployments = self.deployments(prices)
        routes = {task: self.route(task, route, deployments) for task, route in spec.routes.items()}
        if spec.router.policy is not None:
            routes = self.apply_policy(spec.router.policy, routes, deployments)
        kwargs: dict[str, Any] = {"routes": routes, "prices": prices, **self.router_fields()}
        if (reference := deployments.get(spec.router.reference_model or "")) is not None:
            # A [models.NAME] named: its price key (a model id, or NAME for an override).
            kwargs["reference_model"] = reference.priced_as
        elif (name := spec.router.reference_model) is not None and not prices.knows(name):
            raise self.fail(
                "router.reference_model",
                f"{did_you_mean(name, deployments)}{name!r} has no price, so every saving "
                f"would be unknown; name a [models.NAME] of this file "
                f"({', '.join(sorted(deployments))}) or a model genai-prices knows (gpt-4o)",
            )
        compressors = self.compressors(deployments)
        if compressors:
            kwargs["compressors"] = compressors
        if spec.router.shadow is not None:
            kwargs["shadow"] = self.shadow(spec.router.shadow)
        kwargs.update(self.budgets())
        try:
            return validate_router_fields(kwargs)
        except ConfigError as error:
            key = error.key and file_key(error.key)
            raise ConfigError(error.reason, path=self.path, key=key) from None

    def router_fields(self) -> dict[str, Any]:
        """``[router]``'s fields, its store paths read against the file's directory."""
        fields = self.spec.router.router_fields()
        for name in _ROUTER_TABLE_STORES:
            if isinstance(fields.get(name), str):
                fields[name] = anchored_url(fields[name], self.directory)
        return fields

    @property
    def directory(self) -> Path:
        """Where the file's relative paths start (`_config_paths`): its own directory."""
        return Path(self.path).absolute().parent

    def budgets(self) -> dict[str, Any]:
        """``[[budgets]]``, ``rpm``/``tpm`` of the models: the budget and rate-limit fields."""
        spec = self.spec
        kwargs: dict[str, Any] = {}
        if budgets := parse_budgets(spec.budgets, path=self.path):
            kwargs["budgets"] = budgets
        models = {name: model.model_dump(exclude_none=True) for name, model in spec.models.items()}
        if rate_limits := rate_limits_from_models(models, path=self.path):
            kwargs["rate_limits"] = rate_limits
        return kwargs

    def deployments(self, prices: PriceTable) -> dict[str, Deployment]:
        try:  # each class imported once, and checked even if no model uses it
            classes = {
                name: provider_class(name, provider)
                for name, provider in self.spec.providers.items()
                if isinstance(provider, LangChainProviderSpec)
            }
            return {
                name: _priced(self.deployment(name, model, classes), prices)
                for name, model in self.spec.models.items()
            }
        except ConfigError as error:
            raise error if error.path else error.in_file(self.path) from None

    def deployment(
        self, name: str, spec: ModelSpec, classes: Mapping[str, type[BaseChatModel]]
    ) -> Deployment:
        key = f"models.{name}"
        provider = self.spec.providers.get(spec.provider)
        if provider is None:
            raise self.fail(f"{key}.provider", _one_of(spec.provider, self.spec.providers))
        model_id = spec.model or name
        if isinstance(provider, LangChainProviderSpec):
            cls = classes[spec.provider]
            model = class_model(cls, spec.provider, provider, spec, model_id, key, self.path)
        else:
            model = openai_model(spec.provider, provider, model_id, spec.params, key, self.path)
        # Overrides are keyed by the config name; genai-prices knows the provider's id.
        return Deployment(
            model=model,
            model_id=name,
            provider=spec.provider,
            context_window=spec.context_window,
            price_model=None if spec.price is not None else model_id,
        )

    def route(self, task: str, spec: RouteSpec, deployments: Mapping[str, Deployment]) -> Route:
        key = f"routes.{task}"
        tiers = tuple(
            self.tier(f"{key}.tiers[{i}]", tier, deployments) for i, tier in enumerate(spec.tiers)
        )
        return Route(tiers=tiers, max_cost_usd=spec.max_cost_usd, cache=spec.cache)

    def tier(self, key: str, spec: TierSpec, deployments: Mapping[str, Deployment]) -> Tier:
        for name in spec.models:
            if name not in deployments:
                raise self.fail(key, f"unknown model {name!r}: {_one_of(name, deployments)}")
        return Tier(
            deployments=tuple(deployments[name] for name in spec.models),
            check=self.check(f"{key}.check", spec.check, deployments),
            threshold=spec.threshold,
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
            raise error.in_file(self.path) from None

    def compressors(self, deployments: Mapping[str, Deployment]) -> dict[str, Any]:
        """Each route's ``compress`` table, and ``[router.compress]`` as every task's ("*")."""
        from langchain_costrouter.compression.config import compressor_from_config

        specs = {
            (task, f"routes.{task}.compress"): route.compress
            for task, route in self.spec.routes.items()
            if route.compress is not None
        }
        if self.spec.router.compress is not None:
            specs["*", "router.compress"] = self.spec.router.compress
        models = {name: d.model for name, d in deployments.items()}
        return {
            task: compressor_from_config(spec, path=self.path, key=key, chat_models=models)
            for (task, key), spec in specs.items()
        }

    def shadow(self, spec: ShadowSpec) -> Any:
        """``[router.shadow]`` as a `ShadowConfig`, holding the task to ``[router] policy``."""
        from langchain_costrouter.shadow.config import ShadowConfig, ShadowTask

        fields = spec.model_dump(exclude={"tasks"})
        if spec.store is not None:
            fields["store"] = anchored_url(spec.store, self.directory)
        tasks = {task: ShadowTask(t.rate, t.store_prompts) for task, t in spec.tasks.items()}
        policy = self.spec.router.policy
        try:
            return ShadowConfig(
                tasks=tasks,
                policy=None if policy is None else Path(self.path).parent / policy,
                **fields,
            )
        except ConfigError as error:
            raise ConfigError(error.reason, path=self.path, key=f"router.{error.key}") from None

    def prices(self) -> dict[str, ModelPrice]:
        overrides = {}
        for name, spec in self.spec.models.items():
            if spec.price is not None:
                try:
                    price = spec.price.model_dump(exclude_none=True)
                    overrides[name] = ModelPrice.from_mapping(price, model=name)
                except (TypeError, ValueError) as error:
                    reason = error.reason if isinstance(error, ConfigError) else str(error)
                    raise self.fail(f"models.{name}.price", reason) from None
        return overrides

    def apply_policy(
        self, policy: str, routes: dict[str, Route], deployments: Mapping[str, Deployment]
    ) -> dict[str, Route]:
        from langchain_costrouter.calibration.policy_routes import routes_from_policy_file

        base = Path(self.path).parent
        try:
            return {**routes, **routes_from_policy_file(base / policy, deployments)}
        except ConfigError as error:
            # The policy's own errors name the policy file; the reader edits this one.
            raise self.fail("router.policy", str(error)) from None


def _priced(deployment: Deployment, prices: PriceTable) -> Deployment:
    """Price by the provider's model id when the price table knows it, else by config name."""
    model = deployment.price_model
    if model and not prices.knows(model, provider=deployment.provider):
        return replace(deployment, price_model=None)
    return deployment


def _one_of(name: str, known: Iterable[str]) -> str:
    """``expected one of [...]``, with the closest name first when there is one."""
    choices = sorted(known)
    return f"{did_you_mean(name, choices)}expected one of {choices}, got {name!r}"
