"""OpenTelemetry spans and metrics of routed calls, named as operations dashboards expect.

Install the ``otel`` extra (``opentelemetry-api`` only). When the application has set
global tracer and meter providers, every `RoutedChatModel` built afterwards reports
with no setup of its own; without them (or without the API) reporting costs nothing.
``RoutedChatModel(telemetry=TelemetryProviders(...))`` reports to given providers,
``telemetry=False`` never reports, ``trace_content=True`` adds prompt and answer text
to attempt spans. Spans and metrics are made by a worker thread once a call ends;
`flush` waits for them (tests, short scripts; it also runs at exit).

The names follow the OpenTelemetry GenAI semantic conventions v1.41.1 (see `names`);
`spans` and `metrics` list what is reported.
"""

from langchain_costrouter.telemetry.calls import CallTrace
from langchain_costrouter.telemetry.names import SEMCONV_VERSION
from langchain_costrouter.telemetry.reporter import flush
from langchain_costrouter.telemetry.setup import (
    NoTelemetry,
    RouterTelemetry,
    Telemetry,
    TelemetryProviders,
    open_telemetry,
)

__all__ = [
    "SEMCONV_VERSION",
    "CallTrace",
    "NoTelemetry",
    "RouterTelemetry",
    "Telemetry",
    "TelemetryProviders",
    "flush",
    "open_telemetry",
]
