"""A config file's ``[models.NAME]`` entry as a chat model on its provider.

Two kinds of provider: an OpenAI-compatible endpoint (a ``ChatOpenAI`` whose key is read
from the environment at request time), or any LangChain chat model class named by
``class`` (its key read when the router is built). Either way the child keeps no cache
and does not retry (the router does both), and its ``params`` are checked against the
class's fields, so a misspelt one is an error naming its key instead of a keyword the
class drops, or sends on to the provider. Errors are `ConfigError`s naming the key; the
config loader adds the file.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError

from langchain_costrouter._secrets import env_secrets, is_secret_name, redacted
from langchain_costrouter._unknown_keys import did_you_mean, unknown_key_message
from langchain_costrouter.config_schema import (
    LangChainProviderSpec,
    ModelSpec,
    OpenAIProviderSpec,
)
from langchain_costrouter.errors import ConfigError, MissingAPIKeyError


@dataclass(frozen=True)
class EnvAPIKey:
    """An API key read from the environment at request time; its repr shows only the name.

    ``path`` is the config file that names the variable: a missing key's error names
    it and the ``providers.NAME.api_key_env`` key, long after the file was loaded."""

    provider: str
    env_var: str
    path: str | None = None

    def __call__(self, when: str = "calling this model") -> str:
        value = os.environ.get(self.env_var)
        if not value:
            key = f"providers.{self.provider}.api_key_env"
            raise MissingAPIKeyError(
                self.provider, self.env_var, path=self.path, key=key, when=when
            )
        return value

    def __repr__(self) -> str:
        return f"EnvAPIKey(env_var={self.env_var!r})"


def openai_model(
    provider_name: str,
    provider: OpenAIProviderSpec,
    model_id: str,
    params: Mapping[str, Any],
    key: str,
    path: str | None = None,
) -> BaseChatModel:
    """A ChatOpenAI on the provider's endpoint; its own retries off (the router retries).

    ``params`` are checked against ChatOpenAI's fields first: ChatOpenAI would move
    an unknown one (``temprature``) into ``model_kwargs`` and send it to the provider
    with a warning that names neither the file nor the key. Provider-specific extras
    go in ``model_kwargs`` or ``extra_body``, which are fields, so they pass.
    """
    from langchain_costrouter.openai_compat import chat_openai_class

    cls = chat_openai_class(provider.output_cap_field)
    check_params(cls, params, f"{key}.params")
    try:
        return cls(
            model=model_id,
            base_url=provider.base_url,
            api_key=EnvAPIKey(provider_name, provider.api_key_env, path),
            timeout=provider.timeout,
            max_retries=0,
            stream_usage=True,
            default_headers=provider.headers,
            cache=False,
            **params,
        )
    except (TypeError, ValueError) as error:  # pydantic's ValidationError is a ValueError
        raise _rejected(cls, error, f"{key}.params", provider.api_key_env) from None


def class_model(
    cls: type[BaseChatModel],
    provider_name: str,
    provider: LangChainProviderSpec,
    spec: ModelSpec,
    model_id: str,
    key: str,
    path: str | None = None,
) -> BaseChatModel:
    """An instance of the provider's LangChain class ``cls``, with the provider's
    ``params`` under the model's own.

    The model id goes in ``model_field`` and the key in ``api_key_field``, which the
    class must have: a name it lacks would be dropped or refused far from the file.
    The key is read when the router is built (the class holds it, and it is not
    known to accept a callable as ChatOpenAI does).
    """
    fields = field_names(cls)
    pkey = f"providers.{provider_name}"
    check_params(cls, spec.params, f"{key}.params")
    kwargs: dict[str, Any] = {"cache": False}
    if "max_retries" in fields:
        kwargs["max_retries"] = 0
    if provider.model_field in fields:
        kwargs[provider.model_field] = model_id
    elif spec.model is not None or "model_field" in provider.model_fields_set:
        raise _missing_field(cls, provider.model_field, fields, f"{pkey}.model_field")
    if provider.api_key_env is not None:
        if provider.api_key_field not in fields:
            raise _missing_field(cls, provider.api_key_field, fields, f"{pkey}.api_key_field")
        api_key = EnvAPIKey(provider_name, provider.api_key_env, path)
        kwargs[provider.api_key_field] = api_key("loading this config file")
    kwargs.update(provider.params)
    kwargs.update(spec.params)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:  # pydantic's ValidationError is a ValueError
        blamed = _params_refused(error, provider.params, spec.params, pkey, key)
        raise _rejected(cls, error, blamed, provider.api_key_env) from None


def provider_class(provider_name: str, provider: LangChainProviderSpec) -> type[BaseChatModel]:
    """The class ``class`` names (``package.module:Class`` or ``package.module.Class``),
    with the provider's own ``params`` checked against it."""
    key = f"providers.{provider_name}.class"
    module_name, _, attribute = provider.class_.replace(":", ".").rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"cannot import {module_name!r} ({error}); is its package installed?", key=key
        ) from None
    cls = getattr(module, attribute, None)
    if cls is None:
        known = [name for name in dir(module) if not name.startswith("_")]
        message = f"{did_you_mean(attribute, known)}{module_name} has no {attribute!r}"
        raise ConfigError(message, key=key)
    if not (isinstance(cls, type) and issubclass(cls, BaseChatModel)):
        message = f"{provider.class_} is not a LangChain chat model (BaseChatModel)"
        raise ConfigError(message, key=key)
    check_params(cls, provider.params, f"providers.{provider_name}.params")
    return cls


def check_params(cls: type[BaseChatModel], params: Mapping[str, Any], key: str) -> None:
    """Each key of ``params`` must be a field of ``cls`` (by name or alias), and none may
    be a credential (``api_key``, ``openai_api_key``...), at any depth: a key in the file
    was either ignored for the environment's (``ChatOpenAI``) or used over it (a
    LangChain class, ``model_kwargs.api_key``, ``default_headers.Authorization``, a
    ``default_query`` option), against the promise that keys are read from the
    environment, never from the file.

    A class that takes any keyword (pydantic ``extra="allow"``) is not checked for fields.
    """
    found = _credential_path(params)
    if found is not None:
        raise ConfigError(_KEY_IN_FILE, key=f"{key}.{found}")
    if cls.model_config.get("extra") == "allow":
        return
    fields = field_names(cls)
    for name in params:
        if name not in fields:
            raise ConfigError(unknown_key_message(name, fields), key=f"{key}.{name}")


_KEY_IN_FILE = (
    "keys never go in the file: export it in an environment variable and name that "
    "variable with api_key_env in the model's [providers.NAME] table (api_key_field names "
    "the field it goes in, for a LangChain class); a header the endpoint needs besides "
    "the key (a proxy's Authorization) goes in the headers table of an OpenAI-compatible "
    "[providers.NAME], which may carry Authorization"
)


def _credential_path(value: Any) -> str | None:
    """The path (``default_headers.Authorization``, ``extra_body.auth[0].access_token``) of
    the first credential-named key in ``value``'s mappings and lists, at any depth."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            shown = _toml_key(str(name))
            if is_secret_name(str(name)):
                return shown
            inner = _credential_path(item)
            if inner is not None:
                return _joined(shown, inner)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            inner = _credential_path(item)
            if inner is not None:
                return _joined(f"[{index}]", inner)
    return None


def _joined(outer: str, inner: str) -> str:
    return f"{outer}{inner}" if inner.startswith("[") else f"{outer}.{inner}"


def _toml_key(name: str) -> str:
    """``name`` as a dotted TOML key spells it: bare when it can be, else quoted."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def field_names(cls: type[BaseChatModel]) -> set[str]:
    """The keywords ``cls`` takes: its fields' names and aliases."""
    names = set(cls.model_fields)
    for field in cls.model_fields.values():
        names.update(
            alias for alias in (field.alias, field.validation_alias) if isinstance(alias, str)
        )
    return names


def _rejected(cls: type, error: Exception, key: str, api_key_env: str | None) -> ConfigError:
    """The class's refusal of its keywords, as a message may show it: each error's field
    and message, never the input pydantic quotes with it (``str(ValidationError)`` shows
    a shortened copy of every keyword, whose tail may be the key read from the
    environment: ``input_value={'cache': False, ...Qz'}``). A message that still quotes
    that key (a validator's own text) has it masked."""
    if isinstance(error, ValidationError):
        details = error.errors(include_url=False, include_input=False, include_context=False)
        reason = "; ".join(_located_message(detail["loc"], detail["msg"]) for detail in details)
    else:
        reason = str(error)
    reason = redacted(reason, env_secrets(api_key_env))
    return ConfigError(f"not accepted by {cls.__name__}: {reason}", key=key)


def _params_refused(
    error: Exception,
    provider_params: Mapping[str, Any],
    model_params: Mapping[str, Any],
    provider_key: str,
    model_key: str,
) -> str:
    """The ``params`` table holding what the class refused: it got the provider's and the
    model's in one call. A refused field names its table (the model's wins: it overrides);
    a refusal of the whole set (a validator's, no field) the only table that has params,
    else the model's."""
    fields: set[Any] = set()
    if isinstance(error, ValidationError):
        fields = {detail["loc"][0] for detail in error.errors() if detail["loc"]}
    if fields & set(model_params):
        return f"{model_key}.params"
    if fields & set(provider_params) or (not fields and provider_params and not model_params):
        return f"{provider_key}.params"
    return f"{model_key}.params"


def _located_message(location: tuple[int | str, ...], message: str) -> str:
    """``field: message``; a check of the whole model (no field) gives its message alone."""
    return f"{'.'.join(map(str, location))}: {message}" if location else message


def _missing_field(cls: type, name: str, fields: set[str], key: str) -> ConfigError:
    message = f"{cls.__name__} has no field {name!r}: {unknown_key_message(name, fields)}"
    return ConfigError(message, key=key)
