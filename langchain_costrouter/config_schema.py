"""The configuration file's shape: pydantic models that refuse what they do not know.

A typo such as ``max_cost = 0.1`` in a route would otherwise switch the budget off
without a word, and ``threshold = 5`` would make a tier escalate every answer. So every
table forbids unknown keys, no value is coerced (``timeout = "60"`` is an error, not 60)
and ranges are checked. `parse_config` turns pydantic's errors into one `ConfigError`
naming the file, the key path and, for an unknown key, the closest known one.

Quality checks and compression tables are only typed as tables here: their builders
(`checks.from_config`, `compression.config`) check them under the same key paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from langchain_costrouter._config_messages import FileShape, file_error

OUTPUT_CAP_FIELDS = ("max_completion_tokens", "max_tokens")
"""How a provider is told the output cap: OpenAI's current field, or the older one that
servers such as llama.cpp's still read (they ignore ``max_completion_tokens``)."""

CACHE_SCHEMES = ("memory", "diskcache", "redis", "rediss")
"""The URL schemes `cache.open_cache` opens."""
BUDGET_STORE_SCHEMES = (
    "memory",
    "sqlite",
    "redis",
    "rediss",
    "postgresql",
    "postgresql+psycopg",
    "postgres",
)
"""The URL schemes `budgets.open_store` opens.

Both lists are copies (this module imports only `errors`; a test holds them equal to
the openers'): the router opens its stores after the file is read, where an unknown
scheme could no longer be blamed on the file and its key."""
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
"""A URL's scheme as `urllib.parse.urlsplit`, which the openers use, reads it."""
_SQLALCHEMY_URL = re.compile(r"[\w+]+://")
"""The start of every URL SQLAlchemy parses (``sqlite:///PATH``, ``postgresql://...``)."""
_LEDGER_URLS = "memory://, sqlite:///PATH or postgresql://USER@HOST/DB"
_ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Table = dict[str, Any]


class OpenAIProviderSpec(_Table):
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


class LangChainProviderSpec(_Table):
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


PROVIDER_KINDS: dict[str, type[_Table]] = {
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


class PriceSpec(_Table):
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
    batch_multiplier: (
        Annotated[float, Field(ge=0, allow_inf_nan=False, description="a factor, e.g. 0.5")] | None
    ) = None


class ModelSpec(_Table):
    """``[models.NAME]``: a model on a provider, with an optional price override."""

    provider: str
    model: Annotated[str, Field(min_length=1)] | None = None
    price: PriceSpec | None = None
    params: Table = Field(default_factory=dict)
    context_window: Annotated[int, Field(gt=0)] | None = None
    rpm: Annotated[int, Field(gt=0, description="requests per minute")] | None = None
    tpm: Annotated[int, Field(gt=0, description="tokens per minute")] | None = None


class TierSpec(_Table):
    """One tier: a model name, or ``{ models = [...], check = {...}, threshold = 0.9 }``."""

    models: Annotated[list[str], Field(min_length=1)]
    check: Table | None = None
    threshold: Annotated[float, Field(ge=0, le=1, description="a check score in [0, 1]")] = 0.5

    @model_validator(mode="before")
    @classmethod
    def _one_model(cls, value: Any) -> Any:
        return {"models": [value]} if isinstance(value, str) else value


class RouteSpec(_Table):
    """A route: a list of tiers, or a table with ``tiers`` and the route's options."""

    tiers: Annotated[list[TierSpec], Field(min_length=1)]
    max_cost_usd: Annotated[float, Field(gt=0, description="dollars per request")] | None = None
    cache: bool = True
    compress: Table | None = None

    @model_validator(mode="before")
    @classmethod
    def _tier_list(cls, value: Any) -> Any:
        return {"tiers": value} if isinstance(value, list) else value


class ShadowTaskSpec(_Table):
    """One task's shadow opt-in: ``{ rate = 0.05, store_prompts = true }`` (or just the rate)."""

    rate: Annotated[float, Field(gt=0, le=1, description="the sampled share, in (0, 1]")]
    store_prompts: bool = False

    @model_validator(mode="before")
    @classmethod
    def _rate_alone(cls, value: Any) -> Any:
        return {"rate": value} if isinstance(value, int | float) else value


class ShadowSpec(_Table):
    """``[router.shadow]``: shadow evaluation against the reference model (`ShadowConfig`)."""

    tasks: Annotated[dict[str, ShadowTaskSpec], Field(min_length=1)]
    score: Annotated[str, Field(min_length=1, description="e.g. judge:MODEL or exact")]
    store: Annotated[str, Field(min_length=1)] | None = None
    reference_model: str | None = None
    queue_size: Annotated[int, Field(ge=1)] = 64
    workers: Annotated[int, Field(ge=1)] = 1
    prompt_retention_days: Annotated[float, Field(gt=0, description="days")] = 30.0
    retention_days: Annotated[float, Field(gt=0, description="days")] | None = 180.0


class RouterSpec(_Table):
    """``[router]``: the `RoutedChatModel` fields, plus what the loader itself reads."""

    default_task: str | None = None
    namespace: Annotated[str, Field(min_length=1)] | None = None
    cache: Annotated[str, Field(min_length=1)] | None = None
    ledger: Any = None
    reference_model: str | None = None
    unknown_task: Literal["error", "default"] | None = None
    default_max_tokens: Annotated[int, Field(gt=0)] | None = None
    max_retries: (
        Annotated[int, Field(ge=0, description="retries per deployment before failing over")] | None
    ) = None
    policy: Annotated[str, Field(min_length=1)] | None = None
    compress: Table | None = None
    budget_store: Annotated[str, Field(min_length=1)] | None = None
    on_budget_store_error: Literal["refuse", "allow"] | None = None
    budget_lease_seconds: (
        Annotated[
            float,
            Field(gt=0, allow_inf_nan=False, description="seconds, longer than any call"),
        ]
        | None
    ) = None
    trace_content: (
        Annotated[bool, Field(description="prompt and answer text on OpenTelemetry spans")] | None
    ) = None
    shadow: ShadowSpec | None = None

    @field_validator("ledger", mode="plain")
    @classmethod
    def _ledger(cls, value: Any) -> Any:
        """A ledger URL (any SQLAlchemy database), or true for the default ledger.

        Only what no ledger could open is refused here (a path without ``sqlite:///``,
        say): which databases SQLAlchemy knows is for the ledger to find out. A string
        is never repeated: a URL may hold a password.
        """
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and _SQLALCHEMY_URL.match(value):
            return value
        shown = "a string that is not a URL" if isinstance(value, str) else repr(value)
        raise ValueError(f"expected a ledger URL ({_LEDGER_URLS}) or true, got {shown}")

    @field_validator("cache")
    @classmethod
    def _cache(cls, value: str | None) -> str | None:
        return _known_scheme(value, CACHE_SCHEMES, "cache")

    @field_validator("budget_store")
    @classmethod
    def _budget_store(cls, value: str | None) -> str | None:
        return _known_scheme(value, BUDGET_STORE_SCHEMES, "budget store")

    def router_fields(self) -> dict[str, Any]:
        """The keys set in the file that are `RoutedChatModel` fields, by field name."""
        fields = self.model_dump(
            exclude_none=True, exclude={"policy", "compress", "max_retries", "shadow"}
        )
        if self.max_retries is not None:
            fields["retry"] = {"max_retries": self.max_retries}
        return fields


def _known_scheme(url: str | None, schemes: tuple[str, ...], what: str) -> str | None:
    """``url`` when its opener knows its scheme; else an error showing the scheme alone.

    Only a scheme followed by ``://`` is shown: the rest of a URL may hold a password,
    and so may whatever precedes a colon in a string that is not a URL.
    """
    scheme = _SCHEME.match(url or "")
    if url is None or (scheme and scheme[1].lower() in schemes):
        return url
    known = ", ".join(f"{name}://" for name in schemes)
    if scheme and url.startswith(f"{scheme[1]}://"):
        raise ValueError(f"unknown {what} URL scheme {scheme[1]!r}; use one of {known}")
    raise ValueError(f"expected a {what} URL starting with one of {known}")


class ConfigFile(_Table):
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
