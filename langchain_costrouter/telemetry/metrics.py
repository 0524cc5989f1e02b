"""The metrics of routed calls: the GenAI client histograms, then money and events.

- ``gen_ai.client.operation.duration`` (s) and ``gen_ai.client.token.usage`` ({token}):
  one measurement per provider attempt, with the conventions' attributes
  (`client_metrics` says which, and why no more).
- ``costrouter.cost`` (USD, counter): every priced attempt, by task, model (as the
  ledger's row names it: ``costrouter.model``, not ``gen_ai.request.model``, the id
  sent), tier and role (answer, judge, compressor); ``costrouter.unpriced_attempts``
  counts attempts whose price is unknown (never added as $0).
- ``costrouter.baseline_cost`` (USD, counter) and ``costrouter.savings`` (USD,
  up-down counter: a cascade that escalated can save less than nothing) by task and
  lever, read from the record, so they add up to what the ledger says.
- ``costrouter.calls`` by task and status, ``costrouter.cache.hits`` / ``.misses``,
  ``costrouter.escalations``, ``costrouter.breaker.transitions`` by deployment and new
  state (its endpoint's credentials masked), the ``costrouter.budget.remaining``
  gauge (USD) by budget and scope, and ``costrouter.budget.unsettled`` (USD, counter):
  by budget and scope, costs that never reached a budget because the store failed
  their settlement until its lease ended (budgets/pending.py).

The counters are observable (asynchronous) counters over `tally.Tally` sums: readers
see cumulative sums per attribute set, as from synchronous counters, at a dict update
per add instead of the SDK's per-call attribute validation and hashing (see `tally`).
Instruments are made once per meter provider and shared by every router on it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

from opentelemetry.metrics import Meter, MeterProvider

from langchain_costrouter._secrets import shown_breaker_key
from langchain_costrouter.metadata import BEST_EFFORT_REASON, AttemptRecord, CostRouterMetadata
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import CallTrace
from langchain_costrouter.telemetry.client_metrics import ClientMetrics
from langchain_costrouter.telemetry.tally import Tally


class BudgetStanding(Protocol):
    """Where one budget stands (`langchain_costrouter.budgets.BudgetStatus`)."""

    @property
    def budget(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def window(self) -> str: ...
    @property
    def remaining_usd(self) -> Any: ...


class Instruments:
    """Every instrument of the package, on one meter.

    Per routed call the SDK sees only the client histograms (`client_metrics`: one
    duration and two token measurements per provider attempt); the counters are
    `Tally` sums that the SDK reads when it collects.
    """

    def __init__(self, meter: Meter) -> None:
        self.client = ClientMetrics(meter)
        money = (n.TASK, n.PURPOSE)
        self.cost = Tally(*money, n.MODEL, n.TIER, n.ROLE)
        self.unpriced = Tally(*money, n.MODEL, n.TIER, n.ROLE)
        self.baseline = Tally(*money)
        self.savings = Tally(*money, n.LEVER)
        self.calls = Tally(n.TASK, n.STATUS)
        self.cache_hits = Tally(n.TASK)
        self.cache_misses = Tally(n.TASK)
        self.escalations = Tally(n.TASK, n.TIER)
        self.breakers = Tally(n.BREAKER, n.BREAKER_STATE)
        self.unsettled = Tally(n.BUDGET, n.BUDGET_SCOPE)
        counter = meter.create_observable_counter
        counter(n.COST_METRIC, [self.cost.observe], n.USD, "What provider attempts cost.")
        counter(
            n.UNPRICED_METRIC, [self.unpriced.observe], "{attempt}", "Attempts with no known price."
        )
        counter(
            n.BASELINE_METRIC,
            [self.baseline.observe],
            n.USD,
            "What the calls would have cost on the reference model.",
        )
        meter.create_observable_up_down_counter(
            n.SAVINGS_METRIC, [self.savings.observe], n.USD, "Baseline minus cost, by lever."
        )
        counter(n.CALLS_METRIC, [self.calls.observe], "{call}", "Routed calls, by how they ended.")
        counter(
            n.CACHE_HITS_METRIC,
            [self.cache_hits.observe],
            "{call}",
            "Calls answered from the cache.",
        )
        counter(
            n.CACHE_MISSES_METRIC,
            [self.cache_misses.observe],
            "{call}",
            "Cacheable calls the cache missed.",
        )
        counter(
            n.ESCALATIONS_METRIC,
            [self.escalations.observe],
            "{call}",
            "Calls served above the first tier.",
        )
        counter(
            n.BREAKER_METRIC,
            [self.breakers.observe],
            "{transition}",
            "Circuit breaker state changes.",
        )
        counter(
            n.UNSETTLED_METRIC,
            [self.unsettled.observe],
            n.USD,
            "Costs no budget counted: the store failed their settlement until its lease ended.",
        )
        self.budget = meter.create_gauge(
            n.BUDGET_METRIC, unit=n.USD, description="What a budget has left in its window."
        )

    def record_call(self, call: CallTrace, record: CostRouterMetadata) -> None:
        """Everything one finished call adds to the metrics."""
        attempts = record.get("attempts") or []
        task = call.task
        for note in call.attempts:
            self.client.record(note, note.record_in(attempts))
        purpose = record.get("purpose", "production")
        for attempt in attempts:
            self._cost(task, purpose, attempt)
        if (baseline := record.get("baseline_cost_usd")) is not None:
            self.baseline.add(baseline, (task, purpose))
        for lever, saved in (record.get("savings_usd") or {}).items():
            if saved:  # None: unknown (never added as 0); 0: nothing to add
                self.savings.add(saved, (task, purpose, lever))
        self.calls.add(1, (task, record.get("status", "ok")))
        if record.get("cache_hit"):
            self.cache_hits.add(1, (task,))
        elif call.cacheable:
            self.cache_misses.add(1, (task,))
        if record.get("escalated"):
            self.escalations.add(1, (task, _served_tier(attempts)))

    def _cost(self, task: str, purpose: str, attempt: AttemptRecord) -> None:
        if attempt.get("provider") == "cache":
            return  # a hit spent nothing; what it avoided is the cache's saving
        key = (
            task,
            purpose,
            attempt.get("model", ""),
            attempt.get("tier", 0),
            attempt.get("role", "answer"),
        )
        cost = attempt.get("cost_usd")
        if cost is None:
            self.unpriced.add(1, key)
        elif cost:
            self.cost.add(cost, key)

    def breaker_changed(self, key: str, state: str) -> None:
        """A circuit breaker changed state (``open``, ``half_open``, ``closed``)."""
        self.breakers.add(1, (shown_breaker_key(key), state))

    def budget_remaining(self, standings: Iterable[BudgetStanding]) -> None:
        """Record what each budget has left (`BudgetGate.status`'s answer)."""
        for standing in standings:
            self.budget.set(
                float(standing.remaining_usd),
                {
                    n.BUDGET: standing.budget,
                    n.BUDGET_SCOPE: standing.scope,
                    n.BUDGET_WINDOW: standing.window,
                },
            )

    def budget_unsettled(self, accounts: Iterable[tuple[str, str]], usd: Any) -> None:
        """A settlement was given up: ``usd`` is missing from each (budget, scope)."""
        for account in accounts:
            self.unsettled.add(float(usd), account)


_SHARED: weakref.WeakKeyDictionary[MeterProvider, Instruments] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def instruments_for(provider: MeterProvider) -> Instruments:
    """The instruments on ``provider``, made on first use and then shared.

    Routers on one provider share one set, so a breaker shared by several routers
    reports each transition once.
    """
    with _SHARED_LOCK:
        known = _SHARED.get(provider)
        if known is None:
            meter = provider.get_meter(n.INSTRUMENTATION_NAME, schema_url=n.SCHEMA_URL)
            known = _SHARED[provider] = Instruments(meter)
        return known


def _served_tier(attempts: list[AttemptRecord]) -> int:
    """The tier whose answer the call returned: the accepted one, else the best-effort one."""
    for attempt in reversed(attempts):
        if attempt.get("accepted") or attempt.get("reason") == BEST_EFFORT_REASON:
            return attempt.get("tier") or 0
    return (attempts[-1].get("tier") or 0) if attempts else 0  # a call that failed
