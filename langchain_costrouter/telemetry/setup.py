"""A router's telemetry, chosen once when the router is built: reporting, or nothing.

`open_telemetry` returns a `Telemetry` when the OpenTelemetry API is installed and
there is somewhere to report to: the application's global tracer or meter provider,
or providers given explicitly (`TelemetryProviders`, e.g. a test's in-memory ones).
Otherwise it returns `NoTelemetry`, whose per-call cost is one method call returning
None: no span object, no note, no metric (the request path then checks
``request.trace is None`` once per provider attempt).

A `Telemetry` hears of a call three times: `begin` (its start and parent context),
the notes the request path adds to the call's `CallTrace` while it runs, and the
call's record, handed to `CallTrace.ended` right after the ledger got it: the record is
what the spans and metrics are made from, so they say what the ledger says. They are
made off the request path, by the process's telemetry worker (`reporter`).

A provider that fails (its ``get_tracer`` or ``get_meter`` raises, a tracer that raises
on each span) costs its own reports and nothing else: the router is built and answers,
and a tracer's failure leaves the call's metrics to be recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from langchain_costrouter.cache import CacheRequest
from langchain_costrouter.metadata import CostRouterMetadata
from langchain_costrouter.telemetry.calls import CallTrace
from langchain_costrouter.telemetry.reporter import REPORTER

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Tracer, TracerProvider

    from langchain_costrouter.telemetry.metrics import BudgetStanding, Instruments


@dataclass(frozen=True)
class TelemetryProviders:
    """Where a router reports, when not to the application's global providers.

    Pass it as ``RoutedChatModel(telemetry=TelemetryProviders(...))``: tests use the
    SDK's in-memory exporter and reader this way, and an application can keep the
    router's telemetry in a pipeline of its own. A provider left as None falls back to
    the global one (when the application set one).
    """

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None


class CallStart(Protocol):
    """A routed call as it starts (the router's ``Request``)."""

    @property
    def task(self) -> str: ...
    @property
    def cache_key(self) -> CacheRequest | None: ...
    @property
    def kwargs(self) -> dict[str, Any]: ...


class Breakers(Protocol):
    """The router's circuit breakers (`router.CircuitBreakers`)."""

    def on_transition(self, listener: Any) -> None: ...


class Telemetry:
    """Reports each routed call as spans and metrics (see `spans` and `metrics`)."""

    enabled = True

    def __init__(
        self, tracer: Tracer | None, instruments: Instruments | None, *, content: bool
    ) -> None:
        from opentelemetry import context

        self.tracer = tracer
        self.instruments = instruments
        self.content = content
        """Prompt and answer text on attempt spans (``trace_content=True``)."""
        self._current_context = context.get_current  # found once, used on every call
        self._report = self.report  # one bound method for every call
        self._spans: Callable[[CallTrace, CostRouterMetadata, int], None] | None = None
        if tracer is not None:
            from langchain_costrouter.telemetry.spans import emit_spans

            self._spans = partial(emit_spans, tracer)

    def begin(self, request: CallStart, streaming: bool) -> CallTrace:
        """A call starts: note when, and in which context (its span's parent)."""
        return CallTrace(
            request.task,
            streaming=streaming,
            cacheable=request.cache_key is not None,
            max_tokens=_output_cap(request.kwargs),
            parent=self._current_context(),
            content=self.content,
            report=self._report,
        )

    def report(self, call: CallTrace, record: CostRouterMetadata) -> None:
        """``call`` ended with ``record``: its spans and metrics, made by the worker."""
        REPORTER.submit(partial(self.emit, call, record, time.time_ns()))

    def emit(self, call: CallTrace, record: CostRouterMetadata, end_ns: int) -> None:
        """The spans and metrics of one finished call."""
        if self._spans is not None:
            try:
                self._spans(call, record, end_ns)
            except Exception:  # a broken tracer: the metrics below are still owed
                _log.exception("costrouter telemetry failed to make a call's spans")
        if self.instruments is not None:
            self.instruments.record_call(call, record)

    def watch(self, breakers: Breakers) -> None:
        """Count the breakers' state changes (once per meter, however many routers)."""
        if self.instruments is not None:
            breakers.on_transition(self.instruments.breaker_changed)

    def watch_budgets(self, gate: object) -> None:
        """Record what each budget has left after each settlement, and the costs of
        settlements given up (a gate without budgets, which has no ``on_standings``, has
        nothing to report)."""
        register = getattr(gate, "on_standings", None)
        if self.instruments is not None and register is not None:
            register(self.budget_remaining)
        unsettled = getattr(gate, "on_unsettled", None)
        if self.instruments is not None and unsettled is not None:
            unsettled(self.instruments.budget_unsettled)

    def budget_remaining(self, standings: Iterable[BudgetStanding]) -> None:
        """What each budget has left (``BudgetGate.status``'s answer), as a gauge. Run on
        the caller's thread as a settlement ends: a broken meter never fails the call."""
        if self.instruments is not None:
            try:
                self.instruments.budget_remaining(standings)
            except Exception:
                _log.exception("costrouter telemetry failed to record the budgets' standing")


class NoTelemetry:
    """The telemetry of a router with nowhere to report: nothing, at no cost."""

    enabled = False
    __slots__ = ()

    def begin(self, request: CallStart, streaming: bool) -> None:
        return None

    def watch(self, breakers: Breakers) -> None:
        """Nothing to count."""

    def watch_budgets(self, gate: object) -> None:
        """Nothing to record."""

    def budget_remaining(self, standings: Iterable[BudgetStanding]) -> None:
        """Nothing to record."""


RouterTelemetry = Telemetry | NoTelemetry


def open_telemetry(spec: Any, *, content: bool = False) -> RouterTelemetry:
    """A router's telemetry from its ``telemetry`` field.

    Args:
        spec: None or True: the application's global providers, when it set any;
            False: none; a `TelemetryProviders`: those providers.
        content: Put prompt and answer text on attempt spans.
    """
    if spec is False:
        return NoTelemetry()
    if spec is not None and spec is not True and not isinstance(spec, TelemetryProviders):
        from langchain_costrouter.errors import ConfigError

        raise ConfigError(
            f"expected None, True, False or TelemetryProviders(...), got {spec!r}",
            key="telemetry",
        )
    try:
        from opentelemetry import metrics, trace
    except ImportError:  # the `otel` extra is not installed: nothing can report
        return NoTelemetry()
    given = spec if isinstance(spec, TelemetryProviders) else TelemetryProviders()
    tracer_provider = given.tracer_provider or _global(trace.get_tracer_provider())
    meter_provider = given.meter_provider or _global(metrics.get_meter_provider())
    tracer = _or_none(_tracer, tracer_provider)
    instruments = _or_none(_instruments, meter_provider)
    if tracer is None and instruments is None:
        return NoTelemetry()
    return Telemetry(tracer, instruments, content=content)


def _or_none(make: Callable[[Any], Any], provider: Any) -> Any:
    """``make(provider)``, or None (no reports of that kind) when the provider fails."""
    try:
        return make(provider)
    except Exception as error:  # the provider's bug must not stop the router being built
        _log.warning("costrouter telemetry leaves out %r, which failed: %s", provider, error)
        return None


def _global(provider: Any) -> Any:
    """The global provider when the application set a real one (not the API's stand-in)."""
    name = type(provider).__name__
    return None if name.startswith(("Proxy", "_Proxy", "NoOp", "_NoOp")) else provider


def _tracer(provider: TracerProvider | None) -> Tracer | None:
    if provider is None:
        return None
    from langchain_costrouter.telemetry import names

    return provider.get_tracer(names.INSTRUMENTATION_NAME, schema_url=names.SCHEMA_URL)


def _instruments(provider: MeterProvider | None) -> Instruments | None:
    if provider is None:
        return None
    from langchain_costrouter.telemetry.metrics import instruments_for

    return instruments_for(provider)


def _output_cap(kwargs: Mapping[str, Any]) -> int | None:
    """The call's own output cap (``gen_ai.request.max_tokens``), if it set one."""
    if kwargs:
        for key in ("max_tokens", "max_completion_tokens"):
            value = kwargs.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return None
