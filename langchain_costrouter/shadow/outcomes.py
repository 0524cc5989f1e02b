"""Shadow samples as recorded outcomes, so ``costrouter calibrate --from-ledger`` learns from them.

A sample whose prompt and texts were kept, and that a cheaper tier answered, is one
outcomes record with two models: the one that served it (its score against the
reference) and the reference model (score 1, its own cost). Calibration needs every
record to have the same models, so the task's most common pair is used; every sample
left out is counted with the reason, never dropped silently.

Shadow samples are the answers a cheaper tier served, so they describe the traffic
the current policy accepts, not the questions it escalated: mix them with a collected
eval set when the policy escalates much.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.shadow.rows import SampleRow


@dataclass(frozen=True)
class ShadowOutcomes:
    """The records, and how many samples were left out for each reason."""

    records: list[OutcomeRecord]
    left_out: dict[str, int]


def shadow_outcomes(samples: Sequence[SampleRow], task: str) -> ShadowOutcomes:
    """The outcomes records of ``task``'s usable samples."""
    left_out: Counter[str] = Counter()
    pairs: list[tuple[tuple[str, str], SampleRow]] = []
    for sample in samples:
        if sample.task != task:
            continue
        reason = _unusable(sample)
        if reason:
            left_out[reason] += 1
        else:
            pairs.append(((sample.served_by, sample.reference_model), sample))
    if not pairs:
        return ShadowOutcomes([], dict(left_out))
    (common, _), *others = Counter(pair for pair, _ in pairs).most_common()
    for pair, count in others:
        left_out[f"served by {pair[0]} (the records use {common[0]})"] += count
    records = [_record(sample, task) for pair, sample in pairs if pair == common]
    return ShadowOutcomes(records, dict(left_out))


def _unusable(sample: SampleRow) -> str | None:
    if sample.score is None:
        return "evaluation failed"
    if sample.served_by == sample.reference_model:
        return "served by the reference model itself"
    if not sample.messages or sample.served_text is None or sample.reference_text is None:
        return "prompt not kept (ShadowTask(store_prompts=True) keeps it)"
    if sample.served_cost is None or sample.reference_cost is None:
        return "a cost is unknown (no price)"
    return None


def _record(sample: SampleRow, task: str) -> OutcomeRecord:
    assert sample.messages is not None and sample.score is not None
    served = ModelOutcome(
        score=sample.score,
        text=sample.served_text,
        cost_usd=float(sample.served_cost or 0),
        logprobs=sample.served_logprobs,
    )
    reference = ModelOutcome(
        score=1.0,
        text=sample.reference_text,
        cost_usd=float(sample.reference_cost or 0),
        logprobs=sample.reference_logprobs,
    )
    outcomes = {sample.served_by: served, sample.reference_model: reference}
    return OutcomeRecord(sample.run_id, task, sample.messages, outcomes)
