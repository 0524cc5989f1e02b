"""What a routed call leaves behind: the ``costrouter`` record on its answer, ledger rows.

Three endings, one record shape (docs/architecture.md, "The answer record"): an
answered call (`Recorder.finish`), a cache hit at $0 with the avoided cost
(`Recorder.serve_hit`), and a call that failed or was cancelled after spending on
some attempts (`Recorder.fail`), which still reaches the ledger.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from langchain_core.messages import AIMessage

from langchain_costrouter.errors import ProviderError
from langchain_costrouter.metadata import AttemptRecord, CallSink, CallStatus, CostRouterMetadata
from langchain_costrouter.router import _savings as savings
from langchain_costrouter.router._accounting import Accountant, call_record, usage_of
from langchain_costrouter.router._cascade import CascadeOutcome
from langchain_costrouter.router._child_streams import merge_chunks
from langchain_costrouter.router._compress import recorded_by_caller
from langchain_costrouter.router._request import Request
from langchain_costrouter.routes import Deployment


class NoLedger:
    """The sink of a router without a ledger: records stay on the answers only."""

    __slots__ = ()

    def add_call(
        self,
        meta: CostRouterMetadata,
        *,
        run_id: str,
        when: datetime,
        reference_model: str | None = None,
    ) -> None:
        """Nothing to write to."""


@dataclass(frozen=True, slots=True)
class Recorder:
    """Builds each call's record and hands it to the ledger (never fails the call)."""

    accountant: Accountant
    ledger: CallSink
    namespace: str

    def finish(self, request: Request, outcome: CascadeOutcome) -> AIMessage:
        """Stamp the served answer with its record, and write the ledger rows."""
        served = outcome.served
        self._price_compression_saving(request, outcome.served_by)
        record = call_record(
            task=request.task,
            namespace=self.namespace,
            attempts=request.attempts,
            served=served,
            accepted=outcome.accepted,
            cache_hit=False,
            extra=request.extra,
        )
        strongest = request.route.tiers[-1].primary
        record["baseline_cost_usd"], record["savings_usd"] = savings.answered(
            self.accountant, request.attempts, served, outcome.served_by, strongest, request.extra
        )
        message = outcome.message  # a fresh object from the child: ours to stamp
        message.response_metadata = {
            **message.response_metadata,
            "model_name": outcome.served_by.model_id,
            "costrouter": record,
        }
        if served.get("usage_estimated") and served.get("usage"):  # counted, not reported
            message.usage_metadata = served["usage"]  # type: ignore[assignment]
        self._write(record, request, answered=True)
        return message

    def serve_hit(self, request: Request, hit: AIMessage) -> AIMessage:
        """Answer from the cache: $0 spent, the avoided cost on the record."""
        record = self._hit_record(request, hit)
        # The cache decodes a fresh copy for every lookup: its dicts are ours to update
        # in place (assigning new ones goes through pydantic's slower __setattr__).
        message = hit
        message.response_metadata["costrouter"] = record
        if message.usage_metadata:
            # langchain-core's own cache hits keep the tokens and add total_cost 0.
            cast(dict[str, Any], message.usage_metadata)["total_cost"] = 0
        self._write(record, request, answered=True)
        return message

    def fail(self, request: Request, error: BaseException) -> None:
        """A call that ends in an error still leaves its attempts in the ledger.

        A call cut off while a provider was answering (cancelled, or a consumer that
        stopped reading a stream) is billed for what it had delivered: that attempt is
        priced on the chunks so far (or the prompt alone), flagged as estimated.
        """
        if (flight := request.in_flight) is not None:
            request.in_flight = None
            partial = merge_chunks(request.delivered)
            attempt = self.accountant.attempt(flight.deployment, partial, request.messages)
            attempt.update(
                {
                    "tier": flight.tier,
                    "accepted": False,
                    "reason": f"cancelled ({type(error).__name__})",
                    "error": type(error).__name__,
                    "usage_estimated": True,
                }
            )
            request.attempts.append(attempt)
        record = call_record(
            task=request.task,
            namespace=self.namespace,
            attempts=request.attempts,
            served=None,
            accepted=False,
            cache_hit=False,
            status=_status(error),
            extra=request.extra,
        )
        record["baseline_cost_usd"], record["savings_usd"] = savings.unanswered(request.attempts)
        self._write(record, request)

    def _hit_record(self, request: Request, hit: AIMessage) -> CostRouterMetadata:
        """A cache hit: $0 spent; what the original call cost is recorded as avoided.

        The stored answer carries its original record, so a hit is not re-priced: the
        avoided cost is what answering again would cost (all of the original attempts).
        """
        original = hit.response_metadata.get("costrouter") or {}
        model = str(hit.response_metadata.get("model_name", ""))
        usage, estimated = usage_of(hit, request.messages)
        if "cost_usd" in original:
            avoided, baseline = original.get("cost_usd"), original.get("baseline_cost_usd")
        else:  # an entry written without a record (e.g. by another tool): price it now
            deployment = _deployment_named(request, model)
            priced = self.accountant.attempt(deployment, hit, request.messages)
            avoided, baseline = priced.get("cost_usd"), priced.get("baseline_cost_usd")
        served = [a for a in original.get("attempts", []) if a.get("accepted")]
        # An answer whose usage was counted, not reported, is stored with those counts
        # as its usage: its record says so, and so must every hit's.
        estimated = estimated or bool(served and served[-1].get("usage_estimated"))
        attempt = AttemptRecord(
            model=model,
            provider="cache",
            tier=served[-1].get("tier", 0) if served else 0,
            usage=dict(usage),
            cost_usd=0.0,
            baseline_cost_usd=baseline,
            avoided_cost_usd=avoided,
            price_source="provider",
            accepted=True,
            reason="cache hit",
            latency_ms=0.0,
        )
        if estimated:
            attempt["usage_estimated"] = True
        if served:
            _replayed_ids(attempt, served[-1])
        record = call_record(
            task=request.task,
            namespace=self.namespace,
            attempts=[attempt],
            served=attempt,
            accepted=True,
            cache_hit=True,
            extra=_call_facts(request.extra),
        )
        # An entry without a record was priced just now: those figures are its original's.
        known = (
            original
            if "cost_usd" in original
            else {"cost_usd": avoided, "baseline_cost_usd": baseline}
        )
        record["baseline_cost_usd"], record["savings_usd"] = savings.cache_hit(known)
        return record

    def _price_compression_saving(self, request: Request, served: Deployment) -> None:
        """What the prompt tokens compression removed would have cost the serving model.

        Priced once the cascade has chosen that model, so the figure can be set against
        the compressor's own cost (its "compressor" attempts) for the net saving.
        """
        saved = request.extra.get("compression_tokens_saved")
        if saved:
            request.extra["compression_saved_usd"] = self.accountant.input_cost(served, saved)

    def _write(
        self, record: CostRouterMetadata, request: Request, *, answered: bool = False
    ) -> None:
        """Stamp the record with its run and reference model; one ledger row per attempt;
        then the call's telemetry, from the same record.

        An answered compressor call that the routed call it compresses for records in
        the same ledger is left to it (`_compress.recorded_by_caller`); a failed one is
        recorded here, as its caller only sees the answers. A ledger failure never fails
        the call: the ledger warns and keeps rows for retry.
        """
        reference = self.accountant.reference_model
        run_id = request.run_id
        record["run_id"] = run_id
        record["reference_model"] = reference
        if not (answered and recorded_by_caller(self.ledger)):
            self.ledger.add_call(
                record, run_id=run_id, when=datetime.now(UTC), reference_model=reference
            )
        if request.trace is not None:
            request.trace.ended(record)


def _status(error: BaseException) -> CallStatus:
    if isinstance(error, asyncio.CancelledError | GeneratorExit | KeyboardInterrupt):
        return "cancelled"
    if isinstance(error, ProviderError) and error.kind == "stream_cut":
        return "cut"
    return "failed"


def _call_facts(extra: dict[str, Any]) -> dict[str, Any]:
    """What a cache hit keeps of the call's facts: who asked, not what the call did."""
    return {key: extra[key] for key in ("purpose", "policy") if key in extra}


def _replayed_ids(hit: AttemptRecord, original: AttemptRecord) -> None:
    """A hit sends nothing: it keeps the model ids of the answer it replays (the model
    sent then, and the one the provider said answered), so the ledger tells hits of
    answers made before and after a config change apart. A shared cache is untrusted:
    only strings are taken."""
    if type(sent := original.get("request_model")) is str:
        hit["request_model"] = sent
    if type(answered := original.get("response_model")) is str:
        hit["response_model"] = answered


def _deployment_named(request: Request, model: str) -> Deployment:
    for deployment in request.route.deployments:
        if deployment.model_id == model:
            return deployment
    return request.route.tiers[0].primary
