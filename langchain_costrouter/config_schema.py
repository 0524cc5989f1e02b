"""The configuration file's shape: pydantic models that refuse what they do not know.

A typo such as ``max_cost = 0.1`` in a route would otherwise switch the budget off
without a word, and ``threshold = 5`` would make a tier escalate every answer. So every
table forbids unknown keys, no value is coerced (``timeout = "60"`` is an error, not 60)
and ranges are checked (`_config_table`). `parse_config` turns pydantic's errors into
one `ConfigError` naming the file, the key path and, for an unknown key, the closest
known one.

The ``[router]`` table, with the store URLs it checks, is `_config_router`'s; its names
are imported from here as well.

Quality checks and compression tables are only typed as tables here: their builders
(`checks.from_config`, `compression.config`) check them under the same key paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError, model_validator

from langchain_costrouter._config_messages import FileShape, file_error
from langchain_costrouter._config_router import (
    BUDGET_STORE_SCHEMES as BUDGET_STORE_SCHEMES,
)
from langchain_costrouter._config_router import CACHE_SCHEMES as CACHE_SCHEMES
from langchain_costrouter._config_router import RouterSpec as RouterSpec
from langchain_costrouter._config_router import ShadowSpec as ShadowSpec
from langchain_costrouter._config_router import ShadowTaskSpec as ShadowTaskSpec
from langchain_costrouter._config_table import StrictTable, Table

OUTPUT_CAP_FIELDS = ("max_completion_tokens", "max_tokens")
"""How a provider is told the output cap: OpenAI's current field, or the older one that
servers such as llama.cpp's still read (they ignore ``max_completion_tokens``)."""

_ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]*$"


class OpenAIProviderSpec(StrictTable):
    """``[providers.NAME]``, ``kind = "openai"`` (the default): an OpenAI-compatible endpoint."""

    base_url: Annotated[
        str, Field(pattern=r"^https?://\S+$", description="an http(s) URL, e.g. https://host/v1")
    ]
    api_key_env: Annotated[
        str,
        Field(
            pattern=_ENV_VAR,
            description="the NAME of the environment variable holding the API key "
            "(keys never go in the file)",
        ),
    ]
    timeout: Annotated[float, Field(gt=0, description="seconds")] = 60.0
    headers: dict[str, str] | None = None
    kind: Literal["openai"] = "openai"
    output_cap_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"


class LangChainProviderSpec(StrictTable):
    """``[providers.NAME]`` with ``kind = "langchain"``: any LangChain chat model class.

    The product promises that every model is a config entry, OpenAI-compatible or not;
    this is the entry for the others (a provider package's ``ChatAnthropic``, a local
    model, a test double). The builder imports the class and checks it; this schema only
    checks the shape.
    """

    kind: Literal["langchain"] = "langchain"
    class_: Annotated[
        str,
        Field(
            alias="class",
            pattern=r"^[A-Za-z_][\w.]*[.:][A-Za-z_]\w*$",
            description="a BaseChatModel subclass as package.module:ClassName "
            "(or package.module.ClassName)",
        ),
    ]
    api_key_env: (
        Annotated[
            str,
            Field(
                pattern=_ENV_VAR,
                description="the NAME of the environment variable holding the API key "
                "(keys never go in the file)",
            ),
        ]
        | None
    ) = None
    api_key_field: Annotated[
        str, Field(min_length=1, description="the class's field that takes the API key")
    ] = "api_key"
    model_field: Annotated[
        str, Field(min_length=1, description="the class's field that takes a model's id")
    ] = "model"
    params: Table = Field(default_factory=dict)


PROVIDER_KINDS: dict[str, type[StrictTable]] = {
    "openai": OpenAIProviderSpec,
    "langchain": LangChainProviderSpec,
}
"""``kind`` -> the table's model. Without ``kind``, a table with ``class`` is a LangChain
class (as the architecture's contract describes it) and any other is OpenAI-compatible."""


def _provider_kind(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("kind", "langchain" if "class" in value else "openai")
    return getattr(value, "kind", None)


ProviderSpec = Annotated[
    Annotated[OpenAIProviderSpec, Tag("openai")]
    | Annotated[LangChainProviderSpec, Tag("langchain")],
    Discriminator(
        _provider_kind,
        custom_error_type="provider_kind",
        custom_error_message="unknown provider kind",
    ),
]
"""``[providers.NAME]``: an OpenAI-compatible endpoint or a LangChain chat model class."""


Dollars = Annotated[
    float, Field(ge=0, allow_inf_nan=False, description="dollars per million tokens")
]


class PriceSpec(StrictTable):
    """``price = { input_per_mtok = ..., output_per_mtok = ... }``: `pricing.ModelPrice`'s
    fields a file may set. Typed here so that a price missing its output rate, or given
    as a string, is the file's error at its key (not a Python ``TypeError``, nor a
    string read as a number against the file's no-coercion rule)."""

    input_per_mtok: Dollars
    output_per_mtok: Dollars
    cached_input_per_mtok: Dollars | None = None
    cache_write_per_mtok: Dollars | None = None
    cache_write_5m_per_mtok: Dollars | None = None
    cache_write_1h_per_mtok: Dollars | None = None
    input_audio_per_mtok: Dollars | None = None
    output_audio_per_mtok: Dollars | None = None
    batch_multiplier: (
        Annotated[float, Field(ge=0, allow_inf_nan=False, description="a factor, e.g. 0.5")] | None
    ) = None


class ModelSpec(StrictTable):
    """``[models.NAME]``: a model on a provider, with an optional price override."""

    provider: str
    model: Annotated[str, Field(min_length=1)] | None = None
    price: PriceSpec | None = None
    params: Table = Field(default_factory=dict)
    context_window: Annotated[int, Field(gt=0)] | None = None
    rpm: Annotated[int, Field(gt=0, description="requests per minute")] | None = None
    tpm: Annotated[int, Field(gt=0, description="tokens per minute")] | None = None


class TierSpec(StrictTable):
    """One tier: a model name, or ``{ models = [...], check = {...}, threshold = 0.9 }``."""

    models: Annotated[list[str], Field(min_length=1)]
    check: Table | None = None
    threshold: Annotated[float, Field(ge=0, le=1, description="a check score in [0, 1]")] = 0.5

    @model_validator(mode="before")
    @classmethod
    def _one_model(cls, value: Any) -> Any:
        return {"models": [value]} if isinstance(value, str) else value


class RouteSpec(StrictTable):
    """A route: a list of tiers, or a table with ``tiers`` and the route's options."""

    tiers: Annotated[list[TierSpec], Field(min_length=1)]
    max_cost_usd: Annotated[float, Field(gt=0, description="dollars per request")] | None = None
    cache: bool = True
    compress: Table | None = None

    @model_validator(mode="before")
    @classmethod
    def _tier_list(cls, value: Any) -> Any:
        return {"tiers": value} if isinstance(value, list) else value


class ConfigFile(StrictTable):
    """The whole file."""

    router: RouterSpec = Field(default_factory=RouterSpec)
    providers: Annotated[dict[str, ProviderSpec], Field(min_length=1)]
    models: Annotated[dict[str, ModelSpec], Field(min_length=1)]
    routes: Annotated[dict[str, RouteSpec], Field(min_length=1)]
    budgets: list[Table] | None = None
    """``[[budgets]]`` tables, checked by `langchain_costrouter.budgets.parse_budgets`."""


def parse_config(data: Mapping[str, Any], *, path: str) -> ConfigFile:
    """Validate parsed TOML; the first problem (and how many more) as a `ConfigError`."""
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as error:
        raise file_error(error.errors(include_url=False), path, _SHAPE) from None


_SHAPE = FileShape(ConfigFile, ProviderSpec, PROVIDER_KINDS)
