"""The search's text-layer fits in worker processes: its dominant cost, split over cores.

Each cascade tier's scorer is fitted per fold and per penalty (`oof.StageScores`), ten
logistic fits over every train row's hashed features per model; at 100k rows they are
most of a calibration. The fits of a task's models are independent and deterministic,
so forked workers compute them (`StageScores.best_fit`) and the parent keeps the
results: the policy is the same as with one process, bit for bit. Workers are forked,
so they read the task's matrix from the parent's memory instead of a pickled copy;
where ``fork`` is not available the fits run in the parent.

Unless told how many (`SearchOptions.workers`), a task of `PARALLEL_ROWS` train rows or
more on a machine of two usable CPUs or more gives every model its own process, up to
`MAX_AUTO_WORKERS`, even when there are more models than CPUs: the models' fits are the
same size, so three on two cores finish together after 1.5 fits' time, where two
processes would take two (100k synthetic outcomes, four models, 2-core machine: 72.7 s
with three processes, 85.6 s with two). A smaller task fits in the parent, since
forking would cost more than the fits.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from langchain_costrouter.calibration.oof import StageScores, TextFit
from langchain_costrouter.calibration.options import SearchOptions

PARALLEL_ROWS = 10_000
"""Train rows of a task from which, by default, its fits run in worker processes."""
MAX_AUTO_WORKERS = 4
_FORKED: StageScores | None = None
"""The scores a forked worker fits (set in the parent just before the workers start)."""


def prefit_tiers(scores: StageScores, options: SearchOptions) -> None:
    """Fit every model that can be a cascade's checked tier (all but the dearest) at once.

    The search would fit each of them anyway; with one worker, or a cascade of one tier,
    nothing is done here and the search fits them as it goes.
    """
    if options.max_tiers > 1:
        models = range(len(scores.matrix.models) - 1)
        workers = options.workers or default_workers(scores.matrix.size, len(models))
        prefit(scores, models, workers)


def default_workers(rows: int, fits: int) -> int:
    """Processes for ``fits`` models of a task of ``rows`` train rows, when the user did not say."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if rows < PARALLEL_ROWS or (usable or 1) < 2:
        return 1
    return max(1, min(fits, MAX_AUTO_WORKERS))


def prefit(scores: StageScores, models: Sequence[int], workers: int) -> None:
    """Fit the text layers of ``models`` on up to ``workers`` processes, and keep them."""
    global _FORKED
    todo = [model for model in models if not scores.has_fit(model)]
    if workers < 2 or len(todo) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return
    _FORKED = scores
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context) as pool:
            for model, fit in zip(todo, pool.map(_best_fit, todo), strict=True):
                scores.keep_fit(model, fit)
    finally:
        _FORKED = None


def _best_fit(model: int) -> TextFit:
    if _FORKED is None:  # pragma: no cover - only a worker forked by `prefit` runs this
        raise RuntimeError("no scores to fit in this process")
    fit = _FORKED.best_fit(model)
    _FORKED.forget_features()  # this worker's copy: the next model's rows start afresh
    return fit
