"""A calibrated policy as the router's route table: one `Route` of cascade tiers per task.

`routes_from_policy` is the code path (``RoutedChatModel(routes=routes_from_policy(...))``),
`routes_from_policy_file` the config-file path (``[router] policy = "policy.json"``). Both
name each deployment after the policy's model id, so the ledger, ``model_name`` and the
recorded outcomes all speak of the same models, and both stamp the routes with a digest of
the policy as their version: a recalibrated policy changes the cascade's answers, so it
must not be served answers cached under the old one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_costrouter._child_models import model_id_of, provider_of
from langchain_costrouter.calibration import runtime
from langchain_costrouter.calibration.policy import Policy, TaskPolicy, load_policy
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.routes import Deployment, Route, Tier

ModelSpec = BaseChatModel | Deployment
"""What a policy's model id may map to: a chat model, or a configured deployment."""


def routes_from_policy(policy: Policy, models: Mapping[str, ModelSpec]) -> dict[str, Route]:
    """Per task label, a `Route` whose tiers run the policy's checks and thresholds.

    Example:
        .. code-block:: python

            policy = load_policy("policy.json")
            routes = routes_from_policy(policy, {"gpt-3.5-turbo": cheap, "gpt-4": strong})
            router = RoutedChatModel(routes=routes, ledger="sqlite:///ledger.sqlite3")

    Raises:
        ConfigError: a tier names a model id that ``models`` does not provide.
    """
    version = policy_digest(policy)
    return {
        task: Route(tiers=_tiers(task, spec, models), version=version)
        for task, spec in sorted(policy.tasks.items())
    }


def routes_from_policy_file(
    path: str | Path, deployments: Mapping[str, ModelSpec]
) -> dict[str, Route]:
    """`routes_from_policy` on a policy file; errors name the file."""
    policy = load_policy(path)
    try:
        return routes_from_policy(policy, deployments)
    except ConfigError as error:
        raise ConfigError(str(error), path=str(path)) from None


def policy_digest(policy: Policy) -> str:
    """A short stable hash of what decides the answers: tiers, rules and scorer weights."""
    described = {task: _describe(spec) for task, spec in sorted(policy.tasks.items())}
    text = json.dumps(described, sort_keys=True)
    return "policy-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _tiers(task: str, spec: TaskPolicy, models: Mapping[str, ModelSpec]) -> tuple[Tier, ...]:
    missing = [model for model in spec.tiers if model not in models]
    if missing:
        raise ConfigError(
            f"policy tiers {missing} have no chat model; provided: {sorted(models)}",
            key=f"tasks.{task}.tiers",
        )
    checked = [
        Tier.of(
            _deployment(name, models[name]), check=runtime.check_for(rule), threshold=rule.threshold
        )
        for name, rule in zip(spec.tiers, spec.rules, strict=False)
    ]
    last = Tier.of(_deployment(spec.tiers[-1], models[spec.tiers[-1]]))
    return (*checked, last)


def _deployment(name: str, model: ModelSpec) -> Deployment:
    """The policy's model id as the deployment's id; pricing keeps the model's own id."""
    if isinstance(model, Deployment):
        return model
    own_id = model_id_of(model)
    return Deployment(
        model=model,
        model_id=name,
        provider=provider_of(model),
        price_model=None if own_id in (name, model._llm_type) else own_id,
    )


def _describe(spec: TaskPolicy) -> dict[str, Any]:
    rules = [
        {
            "kind": rule.kind,
            "threshold": rule.threshold,
            "scorer": None if rule.scorer is None else rule.scorer.to_json(),
        }
        for rule in spec.rules
    ]
    return {"tiers": list(spec.tiers), "rules": rules}
