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
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeGuard, Union, get_args, get_origin

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
from pydantic_core import ErrorDetails

from langchain_costrouter.errors import (
    ConfigError,
    did_you_mean,
    unknown_key_first,
    unknown_key_problem_message,
)

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


PROVIDER_KINDS = {"openai": OpenAIProviderSpec, "langchain": LangChainProviderSpec}
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


class ModelSpec(_Table):
    """``[models.NAME]``: a model on a provider, with an optional price override."""

    provider: str
    model: Annotated[str, Field(min_length=1)] | None = None
    price: Table | None = None
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
        problems = unknown_key_first(error.errors(include_url=False))
        first = _config_error(problems[0], path, problems)
        if len(problems) == 1:
            raise first from None
        others = ", ".join(_key(_walk(p["loc"])[1]) for p in problems[1:])
        more = f" (and {len(problems) - 1} more: {others})"
        raise ConfigError(first.reason + more, path=path, key=first.key) from None


def _config_error(problem: ErrorDetails, path: str, problems: list[ErrorDetails]) -> ConfigError:
    table, loc = _walk(problem["loc"])
    key = _key(loc)
    if problem["type"] == "extra_forbidden":
        message = unknown_key_problem_message(problem, problems, _field_names(table))
        return ConfigError(message, path=path, key=key)
    if problem["type"] == "missing":
        return ConfigError("missing; this key is required", path=path, key=key)
    if problem["type"] == "provider_kind":
        kind = problem["input"].get("kind") if isinstance(problem["input"], Mapping) else None
        message = (
            f"{did_you_mean(str(kind), PROVIDER_KINDS)}expected one of {sorted(PROVIDER_KINDS)}"
        )
        return ConfigError(f"{message}, got {kind!r}", path=path, key=f"{key}.kind")
    message = _TOML_TYPES.get(problem["type"]) or problem["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if problem["type"] != "value_error":
        message += f", got {problem['input']!r}"
    description = _description(table, loc)
    return ConfigError(f"{message} ({description})" if description else message, path=path, key=key)


# Pydantic names Python types; the file's author thinks in TOML's.
_TOML_TYPES = {
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "list_type": "expected an array",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
}


def _key(loc: tuple[int | str, ...]) -> str:
    """``routes.chat.tiers[0].threshold`` from pydantic's location tuple."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}" if key else str(part)
    return key


def _description(table: Any, loc: tuple[int | str, ...]) -> str | None:
    """The description of the field at ``loc`` (``table`` holds it), if it has one."""
    if not loc or not isinstance(loc[-1], str) or not _is_model(table):
        return None
    fields = {field.alias or name: field for name, field in table.model_fields.items()}
    field = fields.get(loc[-1])
    return field.description if field else None


def _field_names(table: Any) -> list[str]:
    """A table's keys as the file spells them (``class``, not the field ``class_``)."""
    if not _is_model(table):
        return []
    return [field.alias or name for name, field in table.model_fields.items()]


def _walk(loc: tuple[int | str, ...]) -> tuple[Any, tuple[int | str, ...]]:
    """The model of the table holding ``loc``'s last part, and ``loc`` as the file names it.

    Walks fields, mapping values and list items; a provider's kind tag, which pydantic
    puts in the location (``providers.x.langchain.class``), is not in the file, so it
    is dropped.
    """
    node: Any = ConfigFile
    parent: Any = ConfigFile
    path: list[int | str] = []
    for part in loc:
        if _is_tagged_union(node):
            node = PROVIDER_KINDS[str(part)]
            continue
        parent = node
        path.append(part)
        if _is_model(node):
            fields = {f.alias or n: f for n, f in node.model_fields.items()}
            field = fields.get(str(part))
            node = _optional_member(field.annotation) if field else None
        else:  # dict[str, X] and list[X] hold X
            args = get_args(node)
            node = _optional_member(args[-1]) if args else None
    return parent, tuple(path)


def _is_model(node: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _is_tagged_union(node: Any) -> bool:
    return bool(node == ProviderSpec)


def _optional_member(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        return next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation
