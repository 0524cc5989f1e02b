"""Budgets and rate limits from a config file: ``[[budgets]]`` tables, ``[router]
budget_store`` and ``budget_lease_seconds``, and ``rpm``/``tpm`` in ``[models.*]`` tables.

```toml
[router]
budget_store = "redis://127.0.0.1:6379/0"
budget_lease_seconds = 120    # a dead process's reservations outlive it this long (default 600)

[[budgets]]
name = "tenant-daily"
limit_usd = 50
period = "day"
per = "tenant"

[models."gpt-4o-mini"]
provider = "openai"
rpm = 500
tpm = 200000
```

Every error is a `ConfigError` naming the key (``budgets[0].period``) and what it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from langchain_costrouter._unknown_keys import unknown_key_first, unknown_key_problem_message
from langchain_costrouter.budgets.gate import BudgetGate
from langchain_costrouter.budgets.model import (
    DEFAULT_LEASE_SECONDS,
    Budget,
    RateLimit,
    checked_lease_seconds,
)
from langchain_costrouter.budgets.null_gate import NullBudgetGate
from langchain_costrouter.budgets.urls import SCHEMES, open_store
from langchain_costrouter.errors import ConfigError

RATE_LIMIT_KEYS = frozenset({"rpm", "tpm"})
"""Keys a ``[models.*]`` table may carry for rate limits (the model loader allows them)."""
STORE_KEY = "router.budget_store"
LEASE_KEY = "router.budget_lease_seconds"


def budgets_from_config(
    tables: Any,
    store_url: Any = None,
    *,
    models: Mapping[str, Any] | None = None,
    path: str | None = None,
    lease_seconds: Any = None,
) -> BudgetGate | NullBudgetGate:
    """The gate a config file describes; `NullBudgetGate` when it has no budgets and no
    rate limits.

    Args:
        tables: The file's ``budgets`` value (an array of tables), or None.
        store_url: ``[router] budget_store``; None means ``memory://``.
        models: The ``[models]`` table, for ``rpm`` and ``tpm``; a model's limits apply
            to its deployment label ``provider/name``.
        path: The config file, named in errors.
        lease_seconds: ``[router] budget_lease_seconds``: how long an unsettled
            reservation counts; None means `DEFAULT_LEASE_SECONDS`.
    """
    lease = _lease(lease_seconds, path)
    budgets = parse_budgets(tables, path=path)
    rate_limits = rate_limits_from_models(models or {}, path=path)
    url = _store_url(store_url, path)
    if not budgets and not rate_limits:
        return NullBudgetGate()
    try:
        store = open_store(url)
    except ConfigError as error:
        raise ConfigError(str(error), path=path, key=STORE_KEY) from error
    return BudgetGate(budgets, store, rate_limits=rate_limits, lease_seconds=lease)


def parse_budgets(tables: Any, *, path: str | None = None) -> list[Budget]:
    """`Budget` objects from ``[[budgets]]`` tables, names unique."""
    if tables is None:
        return []
    if not isinstance(tables, list):
        raise ConfigError(
            "expected an array of tables: write each budget as a [[budgets]] table",
            path=path,
            key="budgets",
        )
    budgets: list[Budget] = []
    for index, table in enumerate(tables):
        key = f"budgets[{index}]"
        budget = _validated(Budget, table, key, path)
        if any(other.name == budget.name for other in budgets):
            raise ConfigError(
                f"a budget named {budget.name!r} exists already", path=path, key=f"{key}.name"
            )
        budgets.append(budget)
    return budgets


def rate_limits_from_models(
    models: Mapping[str, Any], *, path: str | None = None
) -> dict[str, RateLimit]:
    """Deployment label -> `RateLimit` for each model table with ``rpm`` or ``tpm``."""
    limits: dict[str, RateLimit] = {}
    for name, spec in models.items():
        if not isinstance(spec, Mapping) or not RATE_LIMIT_KEYS & set(spec):
            continue
        values = {key: spec[key] for key in RATE_LIMIT_KEYS & set(spec)}
        limits[f"{spec.get('provider')}/{name}"] = _validated(
            RateLimit, values, f"models.{name}", path
        )
    return limits


def _validated(model: type[Any], table: Any, key: str, path: str | None) -> Any:
    """The model of a TOML table, strictly: no value is coerced (``rpm = 1.5`` or
    ``limit_usd = "50"`` is an error, as everywhere in the file)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"expected a table, got {table!r}", path=path, key=key)
    if isinstance(table.get("limit_usd"), str):
        raise ConfigError("expected a number of dollars", path=path, key=f"{key}.limit_usd")
    try:
        return model.model_validate(dict(table), strict=True)
    except ValidationError as error:
        raise _config_error(error, model, key, path) from None


def _config_error(
    error: ValidationError, model: type[BaseModel], key: str, path: str | None
) -> ConfigError:
    """The first problem pydantic found (a misspelt required key before the missing
    one), as a ConfigError naming the exact key."""
    problems = unknown_key_first(error.errors())
    problem = problems[0]
    where = ".".join(str(part) for part in problem["loc"])
    full_key = f"{key}.{where}" if where else key
    if problem["type"] == "extra_forbidden":
        message = unknown_key_problem_message(problem, problems, model.model_fields)
        return ConfigError(message, path=path, key=full_key)
    if problem["type"] == "missing":
        return ConfigError("missing; this key is required", path=path, key=full_key)
    message = problem["msg"].removeprefix("Value error, ")
    if where:
        message += f" (got {problem.get('input')!r})"
    return ConfigError(message, path=path, key=full_key)


def _lease(value: Any, path: str | None) -> float:
    if value is None:
        return DEFAULT_LEASE_SECONDS
    try:
        return checked_lease_seconds(value, LEASE_KEY)
    except ConfigError as error:
        raise ConfigError(error.reason, path=path, key=LEASE_KEY) from None


def _store_url(value: Any, path: str | None) -> str:
    """The store URL; a wrong one is named by its scheme alone, never repeated: the rest
    of a URL holds its password (``postgresql+asyncpg://app:pw@db/app``)."""
    if value is None:
        return "memory://"
    if not isinstance(value, str) or value.split("://", 1)[0] not in SCHEMES:
        if isinstance(value, str) and "://" in value:
            got = f"a URL of scheme {value.split('://', 1)[0]!r}"
        else:
            got = "a string that is not a URL" if isinstance(value, str) else type(value).__name__
        raise ConfigError(
            f"expected a store URL ({', '.join(s + '://' for s in SCHEMES)}), got {got}",
            path=path,
            key=STORE_KEY,
        )
    return value
