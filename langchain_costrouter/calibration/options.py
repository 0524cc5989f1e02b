"""The knobs of policy search, shared by both methods (``guarded`` and ``legacy``)."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_costrouter.errors import ConfigError

METHODS = ("guarded", "legacy")


@dataclass(frozen=True)
class SearchOptions:
    """Knobs of the search.

    ``guarded`` (the default) keeps a promise: the chosen cascade's quality loss
    against the baseline (the best single model on the train records) has a one-sided
    upper confidence bound within ``max_quality_loss`` at ``confidence``, measured on
    nested folds (``outer_folds``) so that no row judges a choice it was part of (see
    `guarded`). A task with fewer than ``min_rows`` train records (distinct prompts: copies
    of one are a single piece of evidence) keeps the baseline.

    ``legacy`` is FrugalGPT's objective: the cheapest cascade whose out-of-fold train
    quality reaches the target plus ``quality_margin``, with no bound; it lands below
    the target on new data about half the time, and is kept for the comparison in
    ``bench/calibration_stability.py``.

    ``target_quality`` (every task) or ``quality_ratio`` (times each task's best single
    model's train quality) set the quality to keep instead of ``max_quality_loss``; a
    target a task cannot reach on train (``guarded``: one above its baseline's quality,
    the most its promise can hold) is a `ConfigError` naming the task.

    ``workers`` processes fit the scorers' text layers (`parallel`); any number gives
    the same policy. None (the default) picks per task: one process per model to fit,
    up to 4, for a task of `parallel.PARALLEL_ROWS` train rows or more on a machine of two
    CPUs or more, where the fits dominate; one process otherwise, where forking would
    cost more than it saves.
    """

    method: str = "guarded"
    max_quality_loss: float = 0.005
    confidence: float = 0.95
    outer_folds: int = 5
    min_rows: int = 100
    target_quality: float | None = None
    quality_ratio: float = 1.0
    quality_margin: float = 0.005
    seed: int = 0
    folds: int = 5
    max_tiers: int = 3
    grid_size: int = 40
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")
        if not 0.0 <= self.max_quality_loss < 1.0:
            raise ConfigError(
                f"max quality loss must be in [0, 1) (a share: 0.005 is half a point), "
                f"got {self.max_quality_loss}"
            )
        if not 0.5 <= self.confidence < 1.0:
            raise ConfigError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.outer_folds < 2:
            raise ConfigError(f"outer folds must be at least 2, got {self.outer_folds}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")


def unreachable_target(target: float, reached: float, how: str) -> ConfigError:
    """The error of a ``target_quality`` the search cannot meet: a policy written anyway
    would serve below what was asked, and nothing but a JSON field would say so."""
    return ConfigError(
        f"the target quality {target:.4f} is not reachable on the train records: {how}; "
        f"lower --target-quality to at most {reached:.4f}, or leave it out (each task then "
        "keeps its best single model's train quality)"
    )
