"""What a `RoutedChatModel` is configured with: its fields, each with what it means.

The fields live apart from the entry points (`_facade`) so that file reads as what a
call does. Arguments are checked before pydantic sees them
(`langchain_costrouter.router_fields`), and a config file yields the same arguments
(`langchain_costrouter.config`); both name the key in one `ConfigError`.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import ConfigDict, Field, model_validator

from langchain_costrouter.budgets import Budget, RateLimit
from langchain_costrouter.budgets.model import DEFAULT_LEASE_SECONDS
from langchain_costrouter.router._breakers import CircuitBreakers
from langchain_costrouter.router._cascade import RetryPolicy

# One breaker registry per process unless a router is given its own: a provider
# that is down for one route is down for all of them (issue: "shared by all routes").
PROCESS_BREAKERS = CircuitBreakers()


class RouterSettings(BaseChatModel):
    """The fields of `RoutedChatModel` (which adds the behaviour); not used on its own."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    routes: dict[str, Any]
    """Task label -> route: a chat model, a list of tiers, or a `Route`."""
    default_task: str | None = None
    """The route for calls that carry no task label."""
    namespace: str = "default"
    """Tenant partition of the cache and the ledger."""
    cache: Any = None
    """A cache URL (``memory://``, ``diskcache:///PATH``, ``redis://...``), a
    `ResponseCache`, a LangChain `BaseCache`, or None/True/False as in langchain-core.
    The router consults its own cache before routing (streams included), so when one
    is given langchain-core's lookup is switched off: one lookup, one entry per call."""
    ledger: Any = None
    """A ledger URL (``memory://``, ``sqlite:///PATH``, ``postgresql://...``), a `Ledger`,
    or True for the embedded default (SQLite in the user data dir, which
    ``costrouter report`` reads without ``--ledger``)."""
    reference_model: str | None = None
    """Model whose price the savings are measured against (default: the priciest routed)."""
    prices: Any = None
    """A `PriceTable`; default: genai-prices plus the routes' overrides."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    breakers: CircuitBreakers = Field(default_factory=lambda: PROCESS_BREAKERS)
    default_max_tokens: int = 1024
    """Output tokens assumed for budget estimates when a call sets no ``max_tokens``."""
    compressors: dict[str, Any] = Field(default_factory=dict)
    """Task label -> `PromptCompressor` run before routing (``"*"`` for every task)."""
    unknown_task: Literal["error", "default"] = "error"
    """What a label without a route does: raise, or use ``default_task``."""
    budgets: list[Budget] = Field(default_factory=list)
    """Spending limits shared by every process using ``budget_store`` (per tenant, per
    task, or global; per minute, hour, day or month)."""
    budget_store: Any = "memory://"
    """Where budgets and rate limits are counted: ``memory://`` (this process),
    ``sqlite:///PATH`` (this machine), ``redis://...`` or ``postgresql+psycopg://...``
    (many machines), or a `BudgetStore`."""
    on_budget_store_error: Literal["refuse", "allow"] = "refuse"
    """A budget store that is down: ``"refuse"`` calls (`BudgetStoreError`), or ``"allow"``
    them unbudgeted with a warning (spend then goes unchecked until the store is back)."""
    budget_lease_seconds: float = DEFAULT_LEASE_SECONDS
    """How long a dead process's reservations outlive it (finite, above 0): a process
    that died mid-call (SIGKILL, a lost machine) frees them after this long. Not a bound
    on a call's length: the router renews the lease of each attempt while it runs
    (`budgets.BudgetGate.keep`), every third of this, so a call of any length keeps its
    worst case held. A lease that runs out all the same (its renewals failed: the store
    unreachable, the process paused) stops holding it, so concurrent calls may spend
    past a limit (its settlement still counts its cost once, warned)."""
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    """Deployment label (``provider/model``) -> requests and tokens per minute, shared
    through ``budget_store``: the router waits or fails over before a provider's 429."""
    on_soft_limit: Any = None
    """Called with each `SoftLimitCrossed` (a budget past its soft threshold)."""
    telemetry: Any = None
    """OpenTelemetry spans and metrics (`langchain_costrouter.telemetry`): None reports to
    the application's global providers when it set them, False never reports, a
    `TelemetryProviders` reports to those providers."""
    trace_content: bool = False
    """Put prompt and answer text on attempt spans (``gen_ai.input.messages`` and
    ``gen_ai.output.messages``). Off by default: the text may hold personal data."""
    shadow: Any = None
    """A `ShadowConfig`: evaluate a sampled share of answers against the reference model."""

    @model_validator(mode="before")
    @classmethod
    def _adopt_cache(cls, data: Any) -> Any:
        """Keep the router's cache out of langchain-core's own cache path."""
        if isinstance(data, dict) and data.get("cache") not in (None, True, False):
            data = {**data, "response_cache": data["cache"], "cache": False}
        return data

    response_cache: Any = None
    """The router-owned cache (set from ``cache=``); None when there is none."""
