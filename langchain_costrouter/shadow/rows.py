"""What the shadow tables hold: evaluated samples (scores, costs, texts when kept), promises."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from langchain_costrouter.ledger.dollars import from_picousd, to_picousd
from langchain_costrouter.logprobs import LogprobSummary

_MONEY = ("served_cost", "reference_cost", "judge_cost")
_LOGPROBS = ("served_logprobs", "reference_logprobs")


@dataclass(frozen=True)
class SampleRow:
    """A live call, the reference model's answer to it, and the score of the served answer."""

    run_id: str
    """The live call's run id (as in the ledger)."""
    time: datetime
    task: str
    namespace: str
    policy: str
    """The serving route's version: a policy's digest for a calibrated route."""
    served_by: str
    served_tier: int | None
    reference_model: str
    scorer: str
    score: float | None
    """The served answer's score against the reference's; None when evaluation failed."""
    error: str | None = None
    served_cost: Decimal | None = None
    reference_cost: Decimal | None = None
    judge_cost: Decimal | None = None
    messages: tuple[Mapping[str, str], ...] | None = None
    """The prompt as sent, only where the task keeps prompts (after redaction)."""
    served_text: str | None = None
    reference_text: str | None = None
    served_logprobs: LogprobSummary | None = None
    """The served answer's token log-probability summary, when its provider returned one."""
    reference_logprobs: LogprobSummary | None = None
    prompt_digest: str | None = None
    """Which prompt was asked, kept or not: a digest of its messages (the cache's
    canonical form, not the model or its parameters), so drift and calibration count a
    prompt's copies once. Not the prompt, and never erased with it; None for samples
    stored before it was (each then counts by its messages, or as a prompt of its own)."""


def sample_values(row: SampleRow) -> dict[str, Any]:
    """Column values: naive UTC time, money as picodollars, messages as JSON."""
    values = asdict(row)
    values["time"] = row.time.astimezone(UTC).replace(tzinfo=None)
    for name in _MONEY:
        values[f"{name}_picousd"] = to_picousd(values.pop(name))
    messages = values.pop("messages")
    values["messages"] = None if messages is None else json.dumps(list(messages))
    for name in _LOGPROBS:
        summary = getattr(row, name)
        values[name] = None if summary is None else json.dumps(summary.to_json())
    return values


def row_from(values: dict[str, Any]) -> SampleRow:
    """The row a query returned, as a `SampleRow` (time in UTC)."""
    values.pop("id", None)
    values["time"] = values["time"].replace(tzinfo=UTC)
    for name in _MONEY:
        values[name] = from_picousd(values.pop(f"{name}_picousd"))
    messages = values["messages"]
    values["messages"] = None if messages is None else tuple(json.loads(messages))
    for name in _LOGPROBS:
        stored = values.get(name)
        values[name] = None if stored is None else LogprobSummary.from_json(json.loads(stored))
    return SampleRow(**values)


GUARDED = "guarded"
TARGET = "target"
TRAIN = "train"
GUARANTEE = "guarantee"
THRESHOLDS = {
    GUARDED: "guarded lower bound",
    TARGET: "legacy target",
    TRAIN: "train quality",
    GUARANTEE: "guarantee interval",
}
"""What each kind of promise holds a task to, in the words ``costrouter drift`` prints."""


@dataclass(frozen=True)
class Promise:
    """One task's promised quality under one policy.

    ``low`` is the threshold drift holds the task to: the lowest quality the policy
    promised (`shadow.promise` says which figure that is for each kind of policy).
    """

    policy: str
    """The policy's digest: the ``version`` of the routes built from it."""
    name: str
    task: str
    quality: float
    """The quality the policy expects (shown next to the threshold)."""
    low: float
    """The threshold: below it, with the whole observed interval, is drift."""
    high: float | None
    """The upper end of the expected quality's interval, when the policy states one."""
    source: str
    """Which promise ``low`` comes from: a key of `THRESHOLDS`."""


def threshold_name(source: str) -> str:
    """The words for a promise's threshold (a source of an unknown kind shows as it is)."""
    return THRESHOLDS.get(source, source)


def promise_values(promise: Promise) -> dict[str, Any]:
    return asdict(promise)
