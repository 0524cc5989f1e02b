"""A completion model's batch recorded prompt by prompt, on the one usage it reported.

``BaseLLM.generate([p1, p2, p3])`` (and ``batch``, ``agenerate``) opens a run per prompt
but makes one request, and the provider reports one usage for the lot. langchain-core
hands that usage whole to the first prompt's ``on_llm_end`` and an empty
``token_usage`` to the others (``LLMResult.flatten``), so a handler that recorded each
run as it ended billed the whole batch on the first prompt and estimated the others on
top of it. `CompletionBatches` holds a batch's runs until the last one has reported,
then splits the batch's usage among them (docs/architecture.md 3.5).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.outputs import LLMResult

from langchain_costrouter import tokens
from langchain_costrouter.ledger.llm_result import reported_usage, rows_from_result, rows_of_share
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.ledger.runs import Pricing, RunEnd, RunStart


@dataclass(frozen=True)
class Ended:
    """A run that ended, with what it reported."""

    result: LLMResult
    run: RunStart
    end: RunEnd

    def rows(self, pricing: Pricing) -> list[LedgerRow]:
        """Its rows when it is recorded alone (`rows_from_result`)."""
        return rows_from_result(self.result, self.run, self.end, pricing)


@dataclass
class _Batch:
    # The generate call's invocation params: one dict for all its runs, so its identity
    # is the batch's. Held, so that no later call's dict takes its id while it is open.
    params: object
    size: int
    runs: list[UUID] = field(default_factory=list)
    ended: dict[UUID, Ended] = field(default_factory=dict)
    failed: set[UUID] = field(default_factory=set)

    def complete(self) -> bool:
        return len(self.runs) == self.size and len(self.ended) + len(self.failed) == self.size


class CompletionBatches:
    """The open batches of completion runs, each held until all its runs have reported."""

    def __init__(self) -> None:
        self._filling: dict[int, _Batch] = {}  # id(params) -> a batch still starting
        self._of: dict[UUID, _Batch] = {}
        self._lock = threading.Lock()

    def started(self, run_id: UUID, batch_size: Any, params: Any) -> None:
        """Count a completion run into its batch.

        langchain-core starts a batch's runs one by one with the same invocation
        params dict, telling each the batch's size; a run alone is not held.
        """
        if not isinstance(batch_size, int) or batch_size < 2 or params is None:
            return
        with self._lock:
            batch = self._filling.get(id(params))
            if batch is None or batch.params is not params:
                batch = self._filling[id(params)] = _Batch(params, batch_size)
            batch.runs.append(run_id)
            self._of[run_id] = batch
            if len(batch.runs) == batch.size:
                del self._filling[id(params)]

    def ended(self, run_id: UUID, ended: Ended) -> list[Ended]:
        """The runs to record now (`batch_rows`): this one alone when it is in no batch,
        none while its batch waits for others, else the batch's, in start order."""
        with self._lock:
            batch = self._of.get(run_id)
            if batch is None:
                return [ended]
            batch.ended[run_id] = ended
            return self._close(batch)

    def failed(self, run_id: UUID) -> list[Ended]:
        """A run that failed is recorded on its own: the batch's ended runs, if it was
        the last to report, are recorded now."""
        with self._lock:
            batch = self._of.get(run_id)
            if batch is None:
                return []
            batch.failed.add(run_id)
            return self._close(batch)

    def _close(self, batch: _Batch) -> list[Ended]:
        if not batch.complete():
            return []
        for run_id in batch.runs:
            del self._of[run_id]
        return [batch.ended[run_id] for run_id in batch.runs if run_id in batch.ended]


def batch_rows(runs: Sequence[Ended], pricing: Pricing) -> list[list[LedgerRow]]:
    """Each run's rows: its share of the batch's usage when exactly one of the runs
    reported usage (langchain-core's split), else what each reported on its own.

    A share is in proportion to the run's tiktoken counts, its prompt's for input and
    its answer's for output, so the shares add up to the provider's figures exactly.
    """
    usages = [usage for ended in runs if (usage := reported_usage(ended.result)) is not None]
    if len(runs) < 2 or len(usages) != 1:
        return [ended.rows(pricing) for ended in runs]
    shares = split_usage(
        usages[0],
        [ended.run.estimated_prompt_tokens() for ended in runs],
        [_answer_tokens(ended.result) for ended in runs],
    )
    return [
        rows_of_share(ended.result, share, ended.run, ended.end, pricing)
        for ended, share in zip(runs, shares, strict=True)
    ]


def split_usage(
    usage: Mapping[str, Any], inputs: Sequence[int], outputs: Sequence[int]
) -> list[dict[str, Any]]:
    """``usage`` split in proportion to ``inputs`` (its input tokens) and ``outputs``.

    Cached and uncached input, reasoning and other output, are split apiece, so no share
    has more cached tokens than input, nor more reasoning than output.
    """
    cached = _count((usage.get("input_token_details") or {}).get("cache_read"))
    reasoning = _count((usage.get("output_token_details") or {}).get("reasoning"))
    fresh = _split(_count(usage.get("input_tokens")) - cached, inputs)
    reads = _split(cached, inputs)
    plain = _split(_count(usage.get("output_tokens")) - reasoning, outputs)
    thought = _split(reasoning, outputs)
    return [
        {
            "input_tokens": fresh[i] + reads[i],
            "output_tokens": plain[i] + thought[i],
            "total_tokens": fresh[i] + reads[i] + plain[i] + thought[i],
            "input_token_details": {"cache_read": reads[i]},
            "output_token_details": {"reasoning": thought[i]},
        }
        for i in range(len(inputs))
    ]


def _split(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` in whole parts in proportion to ``weights``, the largest remainders
    rounded up, so the parts add up to ``total``; equal parts when no weight is set."""
    total = max(total, 0)
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total * weight // whole for weight in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _answer_tokens(result: LLMResult) -> int:
    first = result.generations[0] if result.generations else []
    return sum(tokens.count_text(generation.text) for generation in first)


def _count(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0
