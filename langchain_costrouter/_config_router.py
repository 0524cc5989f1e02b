"""``[router]``: the `RoutedChatModel` fields a configuration file sets, and their checks.

The file's stores are URLs the router opens only once the file is read, so the schemes
their openers know are checked here, where a wrong one is still the file's error at its
key (``router.cache``, ``router.budget_store``); a ledger URL is checked only for being a
URL. No URL is ever repeated in an error: it may hold a password. ``[router.shadow]``
is here too. `config_schema` holds the rest of the file and imports these names.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from langchain_costrouter._config_table import StrictTable, Table

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

Both lists are copies (the file is checked without importing either opener's package;
a test holds them equal to the openers'): the router opens its stores after the file is
read, where an unknown scheme could no longer be blamed on the file and its key."""
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
"""A URL's scheme as `urllib.parse.urlsplit`, which the openers use, reads it."""
_SQLALCHEMY_URL = re.compile(r"[\w+]+://")
"""The start of every URL SQLAlchemy parses (``sqlite:///PATH``, ``postgresql://...``)."""
_LEDGER_URLS = "memory://, sqlite:///PATH or postgresql://USER@HOST/DB"


class ShadowTaskSpec(StrictTable):
    """One task's shadow opt-in: ``{ rate = 0.05, store_prompts = true }`` (or just the rate)."""

    rate: Annotated[float, Field(gt=0, le=1, description="the sampled share, in (0, 1]")]
    store_prompts: bool = False

    @model_validator(mode="before")
    @classmethod
    def _rate_alone(cls, value: Any) -> Any:
        return {"rate": value} if isinstance(value, int | float) else value


class ShadowSpec(StrictTable):
    """``[router.shadow]``: shadow evaluation against the reference model (`ShadowConfig`)."""

    tasks: Annotated[dict[str, ShadowTaskSpec], Field(min_length=1)]
    score: Annotated[str, Field(min_length=1, description="e.g. judge:MODEL or exact")]
    store: Annotated[str, Field(min_length=1)] | None = None
    reference_model: str | None = None
    queue_size: Annotated[int, Field(ge=1)] = 64
    workers: Annotated[int, Field(ge=1)] = 1
    prompt_retention_days: Annotated[float, Field(gt=0, description="days")] = 30.0
    retention_days: Annotated[float, Field(gt=0, description="days")] | None = 180.0


class RouterSpec(StrictTable):
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
            Field(
                gt=0,
                allow_inf_nan=False,
                description="seconds a dead process's reservations outlive it",
            ),
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
