"""The rules `RoutedChatModel`'s arguments obey, the same whether they come from code or a file.

`validate_router_fields` checks what a field's type cannot say: that ``default_task``
is routed, that numbers are in range, that compressors name routed tasks. With a single
route, ``default_task`` may be left out: calls without a task label go to that route.

`config_errors` turns what pydantic raises while building the router into the
`ConfigError` underneath (or one naming the field), so callers catch one error type
instead of pydantic's ``ValidationError`` wrapping ours.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from langchain_costrouter._config_messages import shown_input
from langchain_costrouter._secrets import redacted, url_passwords_masked
from langchain_costrouter._unknown_keys import unknown_key_message
from langchain_costrouter.budgets.model import checked_lease_seconds
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.routes import normalise_routes
from langchain_costrouter.values import label, number_in, whole_number

EVERY_TASK = "*"
"""The compressors key that applies to every task."""


def validate_router_fields(fields: Mapping[str, Any], *, path: str | None = None) -> dict[str, Any]:
    """``fields`` with routes normalised and ``default_task`` filled in for a single route.

    Args:
        fields: `RoutedChatModel` keyword arguments.
        path: The configuration file they were read from, named in errors.

    Raises:
        ConfigError: the first rule broken, naming the key.
    """
    try:
        return _validated(dict(fields))
    except ConfigError as error:
        raise (error.in_file(path) if path else error) from None


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    if "routes" not in fields:
        raise ConfigError(
            "missing: pass routes={task: [models...]} or set COSTROUTER_CONFIG", key="routes"
        )
    routes = fields["routes"] = normalise_routes(fields["routes"])
    default_task = fields.get("default_task")
    if default_task is None and len(routes) == 1:
        fields["default_task"] = default_task = next(iter(routes))
    if default_task is not None and label(default_task, "default_task") not in routes:
        raise ConfigError(
            f"{default_task!r} has no route; routed tasks: {', '.join(routes)}", key="default_task"
        )
    if fields.get("unknown_task") == "default" and default_task is None:
        raise ConfigError('unknown_task="default" needs a default_task', key="unknown_task")
    if "namespace" in fields:
        label(fields["namespace"], "namespace")
    if "default_max_tokens" in fields:
        whole_number(fields["default_max_tokens"], "default_max_tokens", low=1)
    if "budget_lease_seconds" in fields:
        checked_lease_seconds(fields["budget_lease_seconds"], "budget_lease_seconds")
    if fields.get("retry") is not None:
        _check_retry(fields["retry"])
    if fields.get("compressors") is not None:
        _check_compressors(fields["compressors"], routes)
    return fields


def _check_retry(retry: Any) -> None:
    """A `RetryPolicy`, or a mapping of its fields as a file gives them."""

    def read(name: str) -> Any:
        return retry.get(name) if isinstance(retry, Mapping) else getattr(retry, name, None)

    if read("max_retries") is not None:
        whole_number(read("max_retries"), "retry.max_retries", low=0)
    for name in ("backoff_base", "backoff_cap"):
        if read(name) is not None:
            number_in(read(name), f"retry.{name}", low=0.0)


def _check_compressors(compressors: Mapping[str, Any], routes: Mapping[str, Any]) -> None:
    if not isinstance(compressors, Mapping):
        raise ConfigError(
            f"expected task label -> PromptCompressor, got {compressors!r}", key="compressors"
        )
    for task in compressors:
        if task != EVERY_TASK and task not in routes:
            raise ConfigError(
                f"{task!r} has no route; routed tasks: {', '.join(routes)} (or {EVERY_TASK!r})",
                key="compressors",
            )


@contextmanager
def config_errors() -> Iterator[None]:
    """Re-raise a ``ValidationError`` from building the router as a `ConfigError`."""
    try:
        yield
    except ValidationError as error:
        raise as_config_error(error) from None


def as_config_error(error: ValidationError) -> ConfigError:
    """Our own ConfigError when pydantic wrapped one, else one naming the field."""
    problems = error.errors(include_url=False)
    for problem in problems:
        cause = (problem.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigError):
            return cause
    problem = problems[0]
    loc = tuple(problem["loc"])
    key = ".".join(str(part) for part in loc) or None
    if problem["type"] == "extra_forbidden":
        return ConfigError("unknown key; check its spelling against the documented fields", key=key)
    reason = url_passwords_masked(problem["msg"].removeprefix("Value error, "))
    if not loc:  # raised while building the parts: the "input" is every argument
        return ConfigError(f"{redacted(reason)}{_WHILE_BUILDING}")
    return ConfigError(f"{redacted(reason)}, got {shown_input(loc, problem['input'])}", key=key)


_WHILE_BUILDING = (
    " (raised while opening the router's stores and routes: check the URLs given as "
    "cache=, ledger= and budget_store=, and the route's models)"
)


_CHILD_PARAMETERS = frozenset(
    {
        "model",
        "model_name",
        "temperature",
        "top_p",
        "seed",
        "max_tokens",
        "max_completion_tokens",
        "timeout",
        "request_timeout",
        "stop",
        "max_retries",
        "api_key",
        "base_url",
        "streaming",
    }
)
"""What chat models commonly take at construction (LangChain's standard tests pass them):
a router has no model of its own to give them to."""


def refuse_unknown_arguments(data: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    """LangChain's chat models ignore arguments they do not know, so ``budget=`` for
    ``budgets=`` would drop a budget without a word: refuse it, naming the closest field.
    A child model's parameter is ignored with a warning that says where it belongs."""
    for name in data:
        if name in fields:
            continue
        if name in _CHILD_PARAMETERS:
            warnings.warn(
                f"RoutedChatModel ignores {name}=: set it on the child models in its routes, "
                f"or pass it with each call (router.invoke(..., {name}=...)).",
                UserWarning,
                stacklevel=4,
            )
            continue
        known = (field for field in fields if field != "response_cache")
        raise ConfigError(unknown_key_message(name, known), key=name)
