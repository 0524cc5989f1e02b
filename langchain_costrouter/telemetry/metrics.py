"""The metrics of routed calls: the GenAI client histograms, then money and events.

- ``gen_ai.client.operation.duration`` (s) and ``gen_ai.client.token.usage`` ({token}):
  one measurement per provider attempt, with the conventions' attributes and bucket
  boundaries. Usage the provider did not report (the router's tiktoken estimate) is
  not measured: the conventions allow offline counts only when a user asks for them.
- ``costrouter.cost`` (USD, counter): every priced attempt, by task, model, tier and
  role (answer, judge, compressor); ``costrouter.unpriced_attempts`` counts attempts
  whose price is unknown (never added as $0).
- ``costrouter.baseline_cost`` (USD, counter) and ``costrouter.savings`` (USD,
  up-down counter: a cascade that escalated can save less than nothing) by task and
  lever, read from the record, so they add up to what the ledger says.
- ``costrouter.calls`` by task and status, ``costrouter.cache.hits`` / ``.misses``,
  ``costrouter.escalations``, ``costrouter.breaker.transitions`` by deployment and new
  state, and the ``costrouter.budget.remaining`` gauge (USD) by budget and scope.

Instruments are made once per meter provider and shared by every router on it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

from opentelemetry.metrics import Meter, MeterProvider

from langchain_costrouter.metadata import AttemptRecord, CostRouterMetadata
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import AttemptNote, CallTrace
from langchain_costrouter.telemetry.deployments import deployment_attributes


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
    """Every instrument of the package, on one meter."""

    def __init__(self, meter: Meter) -> None:
        self.duration = meter.create_histogram(
            n.OPERATION_DURATION,
            unit=n.OPERATION_DURATION_UNIT,
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=n.OPERATION_DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            n.TOKEN_USAGE,
            unit=n.TOKEN_USAGE_UNIT,
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=n.TOKEN_USAGE_BUCKETS,
        )
        self.cost = meter.create_counter(
            n.COST_METRIC, unit=n.USD, description="What provider attempts cost."
        )
        self.unpriced = meter.create_counter(
            n.UNPRICED_METRIC, unit="{attempt}", description="Attempts with no known price."
        )
        self.baseline = meter.create_counter(
            n.BASELINE_METRIC,
            unit=n.USD,
            description="What the calls would have cost on the reference model.",
        )
        self.savings = meter.create_up_down_counter(
            n.SAVINGS_METRIC, unit=n.USD, description="Baseline minus cost, by lever."
        )
        self.calls = meter.create_counter(
            n.CALLS_METRIC, unit="{call}", description="Routed calls, by how they ended."
        )
        self.cache_hits = meter.create_counter(
            n.CACHE_HITS_METRIC, unit="{call}", description="Calls answered from the cache."
        )
        self.cache_misses = meter.create_counter(
            n.CACHE_MISSES_METRIC, unit="{call}", description="Cacheable calls the cache missed."
        )
        self.escalations = meter.create_counter(
            n.ESCALATIONS_METRIC, unit="{call}", description="Calls served above the first tier."
        )
        self.breakers = meter.create_counter(
            n.BREAKER_METRIC, unit="{transition}", description="Circuit breaker state changes."
        )
        self.budget = meter.create_gauge(
            n.BUDGET_METRIC, unit=n.USD, description="What a budget has left in its window."
        )

    def record_call(self, call: CallTrace, record: CostRouterMetadata) -> None:
        """Everything one finished call adds to the metrics."""
        attempts = record.get("attempts") or []
        for note in call.attempts:
            self._provider_call(call, note, note.record_in(attempts))
        task = {n.TASK: call.task}
        money = {**task, n.PURPOSE: record.get("purpose", "production")}
        for attempt in attempts:
            self._cost(money, attempt)
        if (baseline := record.get("baseline_cost_usd")) is not None:
            self.baseline.add(baseline, money)
        for lever, saved in (record.get("savings_usd") or {}).items():
            if saved:  # None: unknown (never added as 0); 0: nothing to add
                self.savings.add(saved, {**money, n.LEVER: lever})
        self.calls.add(1, {**task, n.STATUS: record.get("status", "ok")})
        if record.get("cache_hit"):
            self.cache_hits.add(1, task)
        elif call.cacheable:
            self.cache_misses.add(1, task)
        if record.get("escalated"):
            served = [a for a in attempts if a.get("accepted")] or attempts[-1:]
            self.escalations.add(1, {**task, n.TIER: served[-1].get("tier", 0)})

    def _provider_call(self, call: CallTrace, note: AttemptNote, attempt: AttemptRecord) -> None:
        attributes = {n.OPERATION: n.CHAT, **deployment_attributes(note.deployment)}
        if note.response_model is not None:
            attributes[n.RESPONSE_MODEL] = note.response_model
        attributes[n.TASK] = call.task
        duration = attributes.copy()
        if note.error is not None:
            duration[n.ERROR_TYPE] = attempt.get("error") or type(note.error).__name__
        self.duration.record((note.end_ns - note.start_ns) / 1e9, duration)
        usage = attempt.get("usage") or {}
        if note.error is not None or attempt.get("usage_estimated") or not usage:
            return
        for kind in ("input", "output"):
            count = usage.get(f"{kind}_tokens")
            if isinstance(count, int):
                self.tokens.record(count, {**attributes, n.TOKEN_TYPE: kind})

    def _cost(self, money: dict[str, Any], attempt: AttemptRecord) -> None:
        if attempt.get("provider") == "cache":
            return  # a hit spent nothing; what it avoided is the cache's saving
        attributes = {
            **money,
            n.REQUEST_MODEL: attempt.get("model", ""),
            n.TIER: attempt.get("tier", 0),
            n.ROLE: attempt.get("role", "answer"),
        }
        cost = attempt.get("cost_usd")
        if cost is None:
            self.unpriced.add(1, attributes)
        elif cost:
            self.cost.add(cost, attributes)

    def breaker_changed(self, key: str, state: str) -> None:
        """A circuit breaker changed state (``open``, ``half_open``, ``closed``)."""
        self.breakers.add(1, {n.BREAKER: key, n.BREAKER_STATE: state})

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
