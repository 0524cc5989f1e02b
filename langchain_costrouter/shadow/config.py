"""What shadow evaluation does, per router: which tasks, how often, what is kept, how long.

Shadow evaluation is opt-in per task label: a share ``rate`` of a task's answered calls
is sampled; a sample answered by a tier cheaper than the reference model is also sent
to the reference model off the latency path, scored against that answer, and stored.
Prompts and answers are stored only for tasks with ``store_prompts``, after the
``redact`` hook, and erased after ``prompt_retention_days``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.scoring import Scorer, parse_scorer

Redactor = Callable[[str], str]
"""Text -> the text to store (e.g. with emails and card numbers masked)."""


@dataclass(frozen=True)
class ShadowTask:
    """One task's opt-in: the sampled share of its answered calls, and whether to keep prompts."""

    rate: float
    store_prompts: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.rate, int | float) and 0 < self.rate <= 1):
            raise ConfigError(f"a sampled share in (0, 1], got {self.rate!r}", key="rate")


@dataclass(frozen=True)
class ShadowConfig:
    """Shadow evaluation of a router; give it as ``RoutedChatModel(shadow=...)``.

    Args:
        tasks: Task label -> `ShadowTask` (or just its rate). Other tasks are never sampled.
        score: How the cheaper answer is scored against the reference model's: a
            scorer name of `langchain_costrouter.scoring` (``judge:MODEL`` for a
            pairwise judge; ``exact``, ``numeric``, ``choice``, ``json``, ``regex:...``).
        store: Database URL for the samples (default: the router's ledger database).
        reference_model: The yardstick (default: the router's reference model).
        policy: A policy file whose per-task promises ``costrouter drift`` checks.
        queue_size: Samples waiting at most; a full queue drops (and counts) new ones.
        workers: Background threads evaluating samples.
        redact: Applied to every stored text; never called when prompts are not kept.
        prompt_retention_days: Stored texts are erased after this many days.
        retention_days: Samples are deleted after this many days (None: kept).
        seed: Seeds the sampling, for reproducible tests.
        table_prefix: Prefix of the shadow tables (as the ledger's), so apps can share a
            database; None: the ledger's default prefix.
    """

    tasks: Mapping[str, ShadowTask | float]
    score: str
    store: str | None = None
    reference_model: str | None = None
    policy: str | Path | None = None
    queue_size: int = 64
    workers: int = 1
    redact: Redactor | None = None
    prompt_retention_days: float = 30.0
    retention_days: float | None = 180.0
    seed: int | None = None
    table_prefix: str | None = None
    scorer: Scorer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tasks, Mapping) or not self.tasks:
            raise ConfigError("name at least one task label to shadow", key="shadow.tasks")
        tasks = {task: _task(task, spec) for task, spec in self.tasks.items()}
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "scorer", _scorer(self.score))
        for name in ("queue_size", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"a whole number >= 1, got {value!r}", key=f"shadow.{name}")
        _positive(self.prompt_retention_days, "prompt_retention_days")
        if self.retention_days is not None:
            _positive(self.retention_days, "retention_days")
        if self.redact is not None and not callable(self.redact):
            raise ConfigError(f"a function str -> str, got {self.redact!r}", key="shadow.redact")

    def task(self, label: str) -> ShadowTask | None:
        """The opt-in of ``label``; None when the task is not shadowed."""
        spec = self.tasks.get(label)
        return spec if isinstance(spec, ShadowTask) else None


def _task(label: str, spec: ShadowTask | float) -> ShadowTask:
    try:
        return spec if isinstance(spec, ShadowTask) else ShadowTask(rate=spec)
    except ConfigError as error:
        raise ConfigError(error.reason, key=f"shadow.tasks.{label}.{error.key}") from None


def _scorer(score: str) -> Scorer:
    try:
        return parse_scorer(score)
    except ConfigError as error:
        raise ConfigError(error.reason.removeprefix("--score "), key="shadow.score") from None


def _positive(value: float, name: str) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"a number of days > 0, got {value!r}", key=f"shadow.{name}")
