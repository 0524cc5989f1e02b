"""Ledger rows from what a LangChain model run reports: its result, or its error.

Used by `CostCallbackHandler`, so it reads only what every chat model (or LLM)
gives a callback: the messages or prompts at start, the `LLMResult` at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, cast

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGenerationChunk, Generation, GenerationChunk, LLMResult

from langchain_costrouter import tokens
from langchain_costrouter.errors import AllTiersFailedError
from langchain_costrouter.ledger.call_rows import rows_from_costrouter
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.runs import Pricing, RunEnd, RunStart
from langchain_costrouter.metadata import LEVERS, AttemptRecord, CostRouterMetadata
from langchain_costrouter.pricing import TokenCounts, token_counts

_CANCELLED = (asyncio.CancelledError, GeneratorExit, KeyboardInterrupt)
"""What ends a call the provider was still answering (the router's "cancelled")."""


@dataclass(frozen=True)
class _Answer:
    """The parts of an `LLMResult` a row is made of."""

    generation: Generation | None
    usage: Mapping[str, Any] | None
    response_metadata: Mapping[str, Any]
    llm_output: Mapping[str, Any]
    shared: bool = False
    """``usage`` is the run's share of its batch's reported usage (`llm_batches`)."""

    @classmethod
    def of(cls, result: LLMResult) -> _Answer:
        first = result.generations[0] if result.generations else []
        generation = first[0] if first else None
        message = getattr(generation, "message", None)
        llm_output = result.llm_output or {}
        return cls(
            generation=generation,
            usage=getattr(message, "usage_metadata", None) or _llm_output_usage(llm_output),
            response_metadata=getattr(message, "response_metadata", None) or {},
            llm_output=llm_output,
        )

    def model(self) -> str | None:
        for source in (self.response_metadata, self.llm_output):
            for key in ("model_name", "model"):
                if isinstance(name := source.get(key), str) and name:
                    return name
        return None

    def counted(self) -> bool:
        """Whether the run reported token counts: usage of no tokens at all is none (no
        call has an empty prompt; servers that did not count send zeros)."""
        usage = self.usage
        return self.shared or bool(
            usage and (usage.get("input_tokens") or usage.get("output_tokens"))
        )

    def langchain_cache_hit(self) -> bool:
        """LangChain's own cache marks a hit with ``total_cost`` 0: nothing was spent."""
        return self.usage is not None and self.usage.get("total_cost") == 0

    def service_tier(self) -> str | None:
        tier = self.response_metadata.get("service_tier") or self.llm_output.get("service_tier")
        return tier if isinstance(tier, str) else None


def rows_from_result(
    result: LLMResult, run: RunStart, end: RunEnd, pricing: Pricing
) -> list[LedgerRow]:
    """Rows of a finished run: every attempt of a routed answer, else one row.

    Returns no rows when the run reported no usage of its own but nested runs did:
    the caller then keeps the nested rows instead.
    """
    answer = _Answer.of(result)
    record = answer.response_metadata.get("costrouter")
    if isinstance(record, Mapping):
        if not answer.langchain_cache_hit():
            return _routed_rows(cast(CostRouterMetadata, record), run, end)
        # A routed answer replayed by LangChain's cache: its record (and run id) is the
        # first call's; counted again it would merge into that call. It is a free hit.
        run = replace(run, task=_label(record.get("task")) or run.task)
    if not answer.counted() and run.nested_rows:
        return []
    return [_plain_row(answer, run, end, pricing)]


def reported_usage(result: LLMResult) -> Mapping[str, Any] | None:
    """The token counts a run's result reports, None when it reports none."""
    answer = _Answer.of(result)
    return answer.usage if answer.counted() else None


def rows_of_share(
    result: LLMResult, share: Mapping[str, Any], run: RunStart, end: RunEnd, pricing: Pricing
) -> list[LedgerRow]:
    """A batched run's row, on its ``share`` of the usage its batch reported."""
    answer = replace(_Answer.of(result), usage=share, shared=True)
    return [_plain_row(answer, run, end, pricing)]


def rows_from_error(
    error: BaseException, run: RunStart, end: RunEnd, pricing: Pricing, response: LLMResult | None
) -> list[LedgerRow]:
    """A failed run: its routed attempts when the router gave up, else one error row.

    The router's attempts already include its nested runs, so they are dropped then.
    A failed run is billed as the router bills a failed attempt (router/_record.py,
    router/_attempts.py): on the usage its error carries when the provider returned
    (and billed) an answer the client refused, else, when the provider was cut off
    answering (a stream cut, a call cancelled), on an estimate of the prompt and of
    the chunks it delivered (``response``, as langchain-core passes them); a provider
    that refused the call billed nothing. A wrapper whose nested runs spent is not
    billed again: their rows are the spend.
    """
    if isinstance(error, AllTiersFailedError):
        attempts = cast(list[AttemptRecord], error.attempts)
        run.nested_rows.clear()
        return _routed_rows({"task": error.task, "attempts": attempts}, run, end)
    name, status = type(error).__name__, _status(error)
    billed = None if run.nested_rows else _billed(error, response)
    if billed is not None:
        row = _plain_row(billed, run, end, pricing)
        return [replace(row, accepted=False, error=name, status_code=status)]
    return [
        LedgerRow(
            time=end.when,
            run_id=end.run_id,
            model=run.model or "unknown",
            task=run.task,
            namespace=run.namespace,
            provider=run.provider,
            accepted=False,
            error=name,
            status_code=status,
            latency_ms=end.latency_ms,
            role=run.role,
            request_model=run.request_model,
        )
    ]


def _billed(error: BaseException, response: LLMResult | None) -> _Answer | None:
    """What a failed run was billed for: the answer its error carries (openai's
    ``LengthFinishReasonError``, ``ContentFilterFinishReasonError``), else the chunks a
    cut stream delivered, else nothing (an empty answer) when it was cancelled."""
    completion = getattr(error, "completion", None)
    usage = getattr(completion, "usage", None)
    if usage is not None and callable(dump := getattr(usage, "model_dump", None)):
        model = getattr(completion, "model", None)
        return _Answer(None, _llm_output_usage({"token_usage": dump()}), {"model_name": model}, {})
    first = response.generations[0] if response and response.generations else []
    delivered = first[0] if first else None
    if isinstance(delivered, ChatGenerationChunk | GenerationChunk):
        return _Answer.of(LLMResult(generations=[[delivered]]))
    if isinstance(error, _CANCELLED):
        return _Answer(None, None, {}, {})
    return None


def _status(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    return status if type(status) is int else None


def _routed_rows(record: CostRouterMetadata, run: RunStart, end: RunEnd) -> list[LedgerRow]:
    labelled: dict[str, Any] = {"task": run.task, "namespace": run.namespace}
    labelled.update(record)  # the router's own labels win
    # A router that records into a ledger itself names the run id it used, so the
    # rows a handler makes of the same call collide with its rows and are kept once.
    run_id = str(labelled.get("run_id") or end.run_id)
    return rows_from_costrouter(cast(CostRouterMetadata, labelled), run_id=run_id, when=end.when)


def _plain_row(answer: _Answer, run: RunStart, end: RunEnd, pricing: Pricing) -> LedgerRow:
    model = answer.model() or run.model or "unknown"
    usage = answer.usage
    cache_hit = answer.langchain_cache_hit()
    counted = answer.counted()
    counts = token_counts(usage) if counted else _estimate(run, answer.generation)
    priced = pricing.prices.price(
        model, counts, provider=run.provider, service_tier=answer.service_tier()
    )
    reference = pricing.reference_model or model
    baseline = priced.cost_usd if reference == model else pricing.prices.baseline(counts, reference)
    if run.role == "compressor":  # a call made only to compress: nothing it replaced
        baseline = Decimal(0)
    cost = Decimal(0) if cache_hit else priced.cost_usd
    row = LedgerRow(
        time=end.when,
        run_id=end.run_id,
        model=model,
        task=run.task,
        namespace=run.namespace,
        provider=run.provider or answer.response_metadata.get("model_provider"),
        input_tokens=counts.input,
        cache_read_tokens=counts.cache_read,
        cache_write_tokens=counts.cache_write_total,
        output_tokens=counts.output,
        reasoning_tokens=counts.reasoning,
        cost_usd=cost,
        price_source=priced.source,
        baseline_cost_usd=baseline,
        reference_model=reference,
        cache_hit=cache_hit,
        latency_ms=end.latency_ms,
        usage_estimated=not counted,
        role=run.role,
        request_model=run.request_model,
        response_model=answer.model(),
    )
    return replace(row, **_plain_savings(cost, baseline, cache_hit, run.role))


def _plain_savings(
    cost: Decimal | None, baseline: Decimal | None, cache_hit: bool, role: str
) -> dict[str, Any]:
    """A call outside the router saves by its model choice, or by LangChain's cache; a
    compressor's call (``prompt | PromptCompressor(llm) | model``) is compression's cost,
    as the router counts its compressor's calls. What it saved is not seen here: the
    model after it is measured on the prompt as sent (``compressors=`` measures both)."""
    if cost is None or baseline is None:
        return {}
    levers: dict[str, Decimal | None] = dict.fromkeys(LEVERS, Decimal(0))
    lever = "compression" if role == "compressor" else "cache" if cache_hit else "routing"
    levers[lever] = baseline - cost
    return {f"saved_{lever}_usd": amount for lever, amount in levers.items()}


def _estimate(run: RunStart, generation: Generation | None) -> TokenCounts:
    """tiktoken counts for a provider that reported no usage (a stream without it)."""
    message = getattr(generation, "message", None)
    if isinstance(message, AIMessage):  # a chat answer: its tool calls count too
        output = tokens.count_answer(message)
    else:
        output = tokens.count_text(generation.text) if generation else 0
    return TokenCounts(input=run.estimated_prompt_tokens(), output=output)


def _llm_output_usage(llm_output: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Usage in OpenAI's raw ``token_usage`` shape: of models that report only that
    (completion LLMs), and of a billed completion an openai error carries."""
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


def _label(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
