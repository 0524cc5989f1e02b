"""TOML configuration: providers, models and routes, so switching providers is a config edit.

The file's shape is checked first (`config_schema`: unknown keys, types, ranges), then
its names (a model's provider, a tier's models, ``default_task``), then the objects are
built (`_config_builder`). Every error is a `ConfigError` naming the file, the key and
what was expected. API keys are never in the file: a provider names the environment
variable that holds its key, read at request time, so a missing key is reported at first
use with the variable's name (and a key set after start-up is picked up).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from langchain_costrouter._config_builder import ConfigBuilder, file_key
from langchain_costrouter.config_schema import parse_config
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.router_fields import validate_router_fields
from langchain_costrouter.routes import Deployment

CONFIG_ENV = "COSTROUTER_CONFIG"
"""Environment variable naming the config file read when ``routes`` is not given."""


def load_router_kwargs(path: Path) -> dict[str, Any]:
    """Read ``path`` and return the keyword arguments of `RoutedChatModel`."""
    spec = parse_config(_read_toml(path), path=str(path))
    return ConfigBuilder(str(path), spec).router_kwargs()


def in_config_file(error: ConfigError, path: Path, given: Iterable[str]) -> ConfigError:
    """An error the router raised on arguments read from ``path``, named as the file names
    them (``router.cache`` for the cache it could not open); an error about an argument
    given in code (``given``), or one that names its file already, is left as it is."""
    field = (error.key or "").split(".")[0].split("[")[0]
    if error.path is not None or not error.key or field in given:
        return error
    return ConfigError(error.reason, path=str(path), key=file_key(error.key))


def load_models(path: Path) -> dict[str, Deployment]:
    """Every ``[models.NAME]`` of the file as a priced deployment, routed or not.

    ``costrouter collect`` calls models by config name, including ones no route uses yet.
    """
    builder = ConfigBuilder(str(path), parse_config(_read_toml(path), path=str(path)))
    return builder.deployments(PriceTable(builder.prices()))


def load_router_kwargs_from_env() -> dict[str, Any] | None:
    """The router's arguments from the file ``COSTROUTER_CONFIG`` names; None when unset.

    Errors say that the variable pointed at the file: the reader may not know it is set.
    """
    value = os.environ.get(CONFIG_ENV)
    if not value:
        return None
    try:
        return load_router_kwargs(Path(value))
    except ConfigError as error:
        raise ConfigError(
            f"{error.reason} (read because {CONFIG_ENV}={value} is set; fix the file, "
            f"or unset {CONFIG_ENV} and pass routes=...)",
            path=error.path,
            key=error.key,
        ) from None


def checked_router_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    """`RoutedChatModel`'s arguments, checked: what ``RoutedChatModel.__init__`` calls.

    Without ``routes``, the file named by ``COSTROUTER_CONFIG`` supplies the arguments and
    those given in code override it.
    """
    if "routes" not in data:
        data = {**(load_router_kwargs_from_env() or {}), **data}
    return validate_router_fields(data)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("the file does not exist", path=str(path)) from None
    except OSError as error:
        raise ConfigError(f"cannot read the file: {error.strerror}", path=str(path)) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError.not_utf8(error, path=str(path)) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}", path=str(path)) from None
