"""The GenAI conventions' client histograms: one measurement set per provider attempt.

- ``gen_ai.client.operation.duration`` (s) and ``gen_ai.client.token.usage`` ({token}),
  with the conventions' bucket boundaries and their required and conditionally
  required attributes (operation, provider, request model, error type) plus the
  response model and ``costrouter.model`` (the deployment's name, as the counters and
  the ledger have it); not ``server.*`` (recommended only) nor the task (the counters
  carry it), as each attribute costs the SDK time per measurement. Usage the provider
  did not report (the router's tiktoken estimate) is not measured: the conventions
  allow offline counts only when a user asks for them.

These are the only instruments the SDK sees per routed call (`metrics` keeps the
counters as `tally.Tally` sums), so their attribute sets are built once per
deployment, response model and error, and reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from opentelemetry.metrics import Meter

from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import AttemptNote
from langchain_costrouter.telemetry.deployments import deployment_attributes
from langchain_costrouter.telemetry.tally import CARDINALITY_LIMIT


class ClientAttributes(NamedTuple):
    """The attribute sets of one provider attempt's client metrics."""

    duration: Mapping[str, Any]
    input: Mapping[str, Any]
    output: Mapping[str, Any]


class ClientMetrics:
    """The two client histograms on one meter, and the attribute sets made for them."""

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
        self._client: dict[tuple[Any, ...], ClientAttributes] = {}

    def record(self, note: AttemptNote, attempt: AttemptRecord) -> None:
        """One provider attempt's duration and the token counts its provider reported."""
        error = None
        if note.error is not None:
            error = attempt.get("error") or type(note.error).__name__
        attributes = self.client_attributes(note, error)
        self.duration.record((note.end_ns - note.start_ns) / 1e9, attributes.duration)
        usage = attempt.get("usage")
        if error is not None or not usage or attempt.get("usage_estimated"):
            return
        count = usage.get("input_tokens")
        if isinstance(count, int):
            self.tokens.record(count, attributes.input)
        count = usage.get("output_tokens")
        if isinstance(count, int):
            self.tokens.record(count, attributes.output)

    def client_attributes(self, note: AttemptNote, error: str | None) -> ClientAttributes:
        """The attempt's client metric attributes, built once per distinct set."""
        key = (note.deployment.breaker_key, note.response_model, error)
        known = self._client.get(key)
        if known is None:
            if len(self._client) >= CARDINALITY_LIMIT:
                self._client.clear()
            known = self._client[key] = _client_attributes(note, error)
        return known


def _client_attributes(note: AttemptNote, error: str | None) -> ClientAttributes:
    """The conventions' attributes of the client metrics, and only one more: every
    attribute of a measurement costs the SDK time to check, copy and hash
    (bench/otel_floor.py), and the counters (`metrics`) carry the task. The one more is
    ``costrouter.model``: two config entries may send one model id (one model on two
    providers, both ``openai`` by the conventions), and the ledger and the cost counter
    know them by that name (measured: a fifth attribute adds about 0.5 µs to an 8 µs
    measurement)."""
    opening = deployment_attributes(note.deployment)
    base = {key: opening[key] for key in _CLIENT_KEYS}
    if note.response_model is not None:
        base[n.RESPONSE_MODEL] = note.response_model
    duration = base if error is None else {**base, n.ERROR_TYPE: error}
    return ClientAttributes(
        duration, {**base, n.TOKEN_TYPE: "input"}, {**base, n.TOKEN_TYPE: "output"}
    )


_CLIENT_KEYS = (n.OPERATION, n.PROVIDER, n.REQUEST_MODEL, n.MODEL)
"""The attempt span's opening attributes the client metrics carry too (`deployments`)."""


__all__ = ["ClientAttributes", "ClientMetrics"]
