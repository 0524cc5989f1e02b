"""Shadow samples as recorded outcomes, so ``costrouter calibrate --from-ledger`` learns from them.

A sample whose prompt and texts were kept, and that a cheaper tier answered, is one
outcomes record with two models: the one that served it (its score against the
reference) and the reference model (score 1, its own cost). Calibration needs every
record to have the same models, so the task's most common pair is used; every sample
left out is counted with the reason, never dropped silently.

Calibration counts prompts, not rows: it groups records by their messages' contents
(`replay.record_key`, `calibration.groups`), while each record keeps its sample's run id
as its id (ids are unique in an outcomes file). Copies of a prompt (the same
`SampleRow.prompt_digest`) all carry the messages of its first copy, so they stay one
group even when the ``redact`` hook stored them differently (a pseudonymiser drawing
fresh tokens per call).

Shadow samples are the answers a cheaper tier served, so they describe the traffic
the current policy accepts, not the questions it escalated: mix them with a collected
eval set when the policy escalates much.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.shadow.rows import SampleRow

_Messages = tuple[Mapping[str, str], ...]


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
    first: dict[str, _Messages] = {}
    records = [
        _record(sample, task, _asked(sample, first)) for pair, sample in pairs if pair == common
    ]
    return ShadowOutcomes(records, dict(left_out))


def _asked(sample: SampleRow, first: dict[str, _Messages]) -> _Messages:
    """The messages a sample's record carries: those of its prompt's first copy (by
    `SampleRow.prompt_digest`; ``first`` remembers them), so that copies a redactor
    stored unlike each other still share the key calibration groups by."""
    assert sample.messages is not None
    if sample.prompt_digest is None:
        return sample.messages
    return first.setdefault(sample.prompt_digest, sample.messages)


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


def _record(sample: SampleRow, task: str, messages: tuple[Mapping[str, str], ...]) -> OutcomeRecord:
    assert sample.score is not None
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
    return OutcomeRecord(sample.run_id, task, messages, outcomes)
