"""Ledger rows from what a LangChain model run reports: its result, or its error.

Used by `CostCallbackHandler`, so it reads only what every chat model (or LLM)
gives a callback: the messages or prompts at start, the `LLMResult` at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.outputs import Generation, LLMResult

from langchain_costrouter import tokens
from langchain_costrouter.errors import AllTiersFailedError
from langchain_costrouter.ledger.rows import LedgerRow, rows_from_costrouter
from langchain_costrouter.metadata import AttemptRecord, CostRouterMetadata
from langchain_costrouter.pricing import PriceTable, TokenCounts, token_counts


@dataclass
class RunStart:
    """What a run's start told us; ``on_llm_end`` gets no metadata (design.md 6.5)."""

    started: float  # time.perf_counter()
    task: str | None
    namespace: str | None
    model: str | None
    provider: str | None
    prompt: Sequence[BaseMessage] | Sequence[str]
    nested_rows: list[LedgerRow] = field(default_factory=list)

    def estimated_prompt_tokens(self) -> int:
        """tiktoken estimate of the prompt, for providers that report no usage."""
        if self.prompt and isinstance(self.prompt[0], BaseMessage):
            return tokens.count_messages(cast(Sequence[BaseMessage], self.prompt))
        return sum(tokens.count_text(str(text)) for text in self.prompt)


@dataclass(frozen=True)
class Pricing:
    """How the handler prices rows: a price table and an optional reference model."""

    prices: PriceTable
    reference_model: str | None


def rows_from_result(
    result: LLMResult,
    run: RunStart,
    *,
    run_id: str,
    when: datetime,
    latency_ms: float,
    pricing: Pricing,
) -> list[LedgerRow]:
    """Rows of a finished run: every attempt of a routed answer, else one row.

    Returns no rows when the run reported no usage of its own but nested runs did:
    the caller then keeps the nested rows instead.
    """
    generation = result.generations[0][0] if result.generations and result.generations[0] else None
    message = getattr(generation, "message", None)
    response_metadata: Mapping[str, Any] = getattr(message, "response_metadata", None) or {}
    record = response_metadata.get("costrouter")
    if isinstance(record, Mapping):
        return _routed_rows(cast(CostRouterMetadata, record), run, run_id, when)
    usage = getattr(message, "usage_metadata", None) or _llm_output_usage(result.llm_output)
    if not usage and run.nested_rows:
        return []
    return [
        _plain_row(
            generation, usage, response_metadata, result, run, run_id, when, latency_ms, pricing
        )
    ]


def rows_from_error(
    error: BaseException, run: RunStart, *, run_id: str, when: datetime, latency_ms: float
) -> list[LedgerRow]:
    """A failed run: its routed attempts when the router gave up, else one error row.

    The router's attempts already include its nested runs, so they are dropped then.
    """
    if isinstance(error, AllTiersFailedError):
        attempts = cast(list[AttemptRecord], error.attempts)
        run.nested_rows.clear()
        return _routed_rows({"task": error.task, "attempts": attempts}, run, run_id, when)
    return [
        LedgerRow(
            time=when,
            run_id=run_id,
            model=run.model or "unknown",
            task=run.task,
            namespace=run.namespace,
            provider=run.provider,
            accepted=False,
            error=type(error).__name__,
            latency_ms=latency_ms,
        )
    ]


def _routed_rows(
    record: CostRouterMetadata, run: RunStart, run_id: str, when: datetime
) -> list[LedgerRow]:
    labelled: dict[str, Any] = {"task": run.task, "namespace": run.namespace}
    labelled.update(record)  # the router's own labels win
    return rows_from_costrouter(cast(CostRouterMetadata, labelled), run_id=run_id, when=when)


def _plain_row(
    generation: Generation | None,
    usage: Mapping[str, Any] | None,
    response_metadata: Mapping[str, Any],
    result: LLMResult,
    run: RunStart,
    run_id: str,
    when: datetime,
    latency_ms: float,
    pricing: Pricing,
) -> LedgerRow:
    llm_output = result.llm_output or {}
    model = _model_name(response_metadata, llm_output) or run.model or "unknown"
    estimated = not usage
    # LangChain's own cache marks a hit with total_cost 0: nothing was spent.
    cache_hit = usage is not None and usage.get("total_cost") == 0
    counts = token_counts(usage) if usage else _estimate(run, generation)
    tier = response_metadata.get("service_tier") or llm_output.get("service_tier")
    priced = pricing.prices.price(model, counts, provider=run.provider, service_tier=tier)
    reference = pricing.reference_model or model
    baseline = priced.cost_usd if reference == model else pricing.prices.baseline(counts, reference)
    return LedgerRow(
        time=when,
        run_id=run_id,
        model=model,
        task=run.task,
        namespace=run.namespace,
        provider=run.provider or response_metadata.get("model_provider"),
        input_tokens=counts.input,
        cache_read_tokens=counts.cache_read,
        cache_write_tokens=counts.cache_write_total,
        output_tokens=counts.output,
        reasoning_tokens=counts.reasoning,
        cost_usd=Decimal(0) if cache_hit else priced.cost_usd,
        price_source=priced.source,
        baseline_cost_usd=baseline,
        reference_model=reference,
        cache_hit=cache_hit,
        latency_ms=latency_ms,
        usage_estimated=estimated,
    )


def _estimate(run: RunStart, generation: Generation | None) -> TokenCounts:
    """tiktoken counts for a provider that reported no usage (a stream without it)."""
    return TokenCounts(
        input=run.estimated_prompt_tokens(),
        output=tokens.count_text(generation.text) if generation else 0,
    )


def _model_name(response_metadata: Mapping[str, Any], llm_output: Mapping[str, Any]) -> str | None:
    for source in (response_metadata, llm_output):
        for key in ("model_name", "model"):
            if isinstance(name := source.get(key), str) and name:
                return name
    return None


def _llm_output_usage(llm_output: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Usage of models that report OpenAI's raw ``token_usage`` only (completion LLMs)."""
    raw = (llm_output or {}).get("token_usage")
    if not isinstance(raw, Mapping) or not raw:
        return None
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
    reasoning = (raw.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return {
        "input_tokens": raw.get("prompt_tokens", 0),
        "output_tokens": raw.get("completion_tokens", 0),
        "input_token_details": {"cache_read": cached or 0},
        "output_token_details": {"reasoning": reasoning or 0},
    }
