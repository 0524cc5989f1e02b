"""What a routed call leaves behind: the ``costrouter`` record on its answer, ledger rows.

Three endings, one record shape (design.md 4.2): an answered call (`finish`), a cache
hit at $0 with the avoided cost (`serve_hit`), and a call that failed after spending
on some attempts (`record_failure`), which still reaches the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata

from langchain_costrouter import stages
from langchain_costrouter.accounting import call_record, usage_of
from langchain_costrouter.metadata import AttemptRecord, CostRouterMetadata
from langchain_costrouter.routes import Deployment

if TYPE_CHECKING:
    from langchain_costrouter.cascade import CascadeOutcome
    from langchain_costrouter.pipeline import Pipeline
    from langchain_costrouter.request import Request


def finish(pipeline: Pipeline, request: Request, outcome: CascadeOutcome) -> AIMessage:
    """Stamp the served answer with its record, and write the ledger rows."""
    served = outcome.served
    attempts = (
        request.side_attempts + outcome.attempts if request.side_attempts else outcome.attempts
    )
    stages.price_compression_saving(pipeline, request, outcome.served_by)
    record = call_record(
        task=request.task,
        namespace=pipeline.router.namespace,
        attempts=attempts,
        served=served,
        accepted=outcome.accepted,
        cache_hit=False,
        extra=request.extra,
    )
    message = outcome.message  # a fresh object from the child: ours to stamp
    message.response_metadata = {
        **message.response_metadata,
        "model_name": outcome.served_by.model_id,
        "costrouter": record,
    }
    if not message.usage_metadata and served.get("usage"):  # estimated: not reported
        message.usage_metadata = served["usage"]  # type: ignore[assignment]
    write(pipeline, record, request.run_id)
    return message


def serve_hit(pipeline: Pipeline, request: Request, hit: AIMessage) -> AIMessage:
    """Answer from the cache: $0 spent, the avoided cost on the record."""
    record = hit_record(pipeline, request, hit)
    message = hit  # the cache decodes a fresh copy for every lookup
    message.response_metadata = {**message.response_metadata, "costrouter": record}
    if message.usage_metadata:
        # langchain-core's own cache hits keep the tokens and add total_cost 0.
        message.usage_metadata = cast(UsageMetadata, {**message.usage_metadata, "total_cost": 0})
    write(pipeline, record, request.run_id)
    return message


def record_failure(pipeline: Pipeline, request: Request) -> None:
    """A call that ends in an error still leaves its attempts in the ledger."""
    record = call_record(
        task=request.task,
        namespace=pipeline.router.namespace,
        attempts=request.side_attempts + request.attempts,
        served=None,
        accepted=False,
        cache_hit=False,
        extra=request.extra,
    )
    write(pipeline, record, request.run_id)


@contextmanager
def recording_failures(pipeline: Pipeline, request: Request) -> Iterator[None]:
    """`record_failure` around a block (the streaming paths, which yield inside it)."""
    try:
        yield
    except Exception:
        record_failure(pipeline, request)
        raise


def hit_record(pipeline: Pipeline, request: Request, hit: AIMessage) -> CostRouterMetadata:
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
        priced = pipeline.accountant.attempt(
            _deployment_named(request, model), hit, request.messages
        )
        avoided, baseline = priced.get("cost_usd"), priced.get("baseline_cost_usd")
    served = [a for a in original.get("attempts", []) if a.get("accepted")]
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
    return call_record(
        task=request.task,
        namespace=pipeline.router.namespace,
        attempts=[attempt],
        served=attempt,
        accepted=True,
        cache_hit=True,
    )


def _deployment_named(request: Request, model: str) -> Deployment:
    for deployment in request.route.deployments:
        if deployment.model_id == model:
            return deployment
    return request.route.tiers[0].primary


def write(pipeline: Pipeline, record: CostRouterMetadata, run_id: str) -> None:
    """Stamp the record with its run and reference model; one ledger row per attempt.

    A ledger failure never fails the call: the ledger warns and keeps rows for retry.
    """
    reference = pipeline.accountant.reference_model
    record["run_id"] = run_id
    record["reference_model"] = reference
    if pipeline.ledger is None:
        return
    pipeline.ledger.add_call(
        record, run_id=run_id, when=datetime.now(UTC), reference_model=reference
    )
