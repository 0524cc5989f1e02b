"""Does calibration keep its promise on data it has never seen? Many splits per data set.

For every shared outcomes file (``python bench/convert_data.py`` writes them) and seeds
0..N-1: split the records in half by seed, calibrate on the train half, and measure on
the test half the quality lost against the baseline (the best single model on the train
half, evaluated on the test half) and the saving. N is by default as many as keep a run
near six minutes on 2 cores (`DEFAULT_SPLITS`: 12 on OVERRULING, whose 12 models take
about 25 CPU-seconds a split, 100 on GSM8K and MT-Bench); ``--seeds N`` gives every set
N. Prints, per data set and method, the share of splits losing at most 1 point, the
worst loss and the mean saving, and, for the guarded search, how often each task's
promise held on the test half:

- ``quality>=LB``: the test half's quality was at least the promised
  ``quality_lower_bound`` (a one-sided bound at the promise's confidence, 95%);
- ``saving in CI``: the test half's saving against the baseline the policy names lay
  inside the promised ``saving_interval`` (two-sided, 95%).

The quality share is of every promise checked (one per task and split; ``n``); the
saving share only of those that chose a cascade (``cascades``): a task that keeps its
baseline promises a saving of exactly 0, which every test half meets. Neither can
reach 95% here: the promise bounds the quality and saving of the population the train
rows were drawn from, and a test half of the same size scatters around that population
as much as the train half did, so the test-minus-train difference has twice the train
estimate's variance. For bounds that are exactly normal a same-size half lands above a
95% one-sided bound with probability Phi(1.645 / sqrt 2) = 88%, and inside a 95%
two-sided interval with probability 2 Phi(1.96 / sqrt 2) - 1 = 83%; exact
(Clopper-Pearson) bounds are conservative and land higher. With 20 splits a share has a
standard error of about 7 points, with 100 about 3: read the columns against those
figures, not against 95%.

The test-half figures are the closed-form replay of the policy (`evaluate.simulate_policy`,
the same checks the router runs); ``costrouter calibrate`` replays through the router.

Usage::

    python bench/calibration_stability.py [--seeds N] [--methods guarded,legacy] [--sets ...]

``--seeds 20 --methods guarded,legacy`` is README's comparison of the two searches (about
20 CPU-minutes); the legacy search promises nothing, so its coverage columns are empty.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread per worker: the grid sums are many small matrix products, and
# OpenBLAS threads spinning against each other (and other processes) on a loaded
# 2-core machine made them about ten times slower in wall and CPU time.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from convert_data import default_cache_dir  # noqa: E402

from langchain_costrouter.calibration.evaluate import (  # noqa: E402
    OutcomeMatrix,
    best_single_model,
    simulate_policy,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.options import SearchOptions  # noqa: E402
from langchain_costrouter.calibration.policy import Policy  # noqa: E402
from langchain_costrouter.calibration.search import calibrate  # noqa: E402
from langchain_costrouter.outcomes import OutcomeRecord, read_outcomes  # noqa: E402

SETS = ("overruling", "gsm8k", "mmlu", "mt_bench")
DEFAULT_SPLITS = {"overruling": 12, "gsm8k": 100, "mmlu": 24, "mt_bench": 100}
"""Splits per set without ``--seeds``: about 300, 150, 120 and 30 CPU-seconds of the
guarded search (a split takes about 25, 1.5, 5 and 0.3 s), ten CPU-minutes in all."""
SLACK = 1e-9
"""Float noise allowed at a promise's ends: a kept baseline promises a saving of [0, 0],
and its test saving is 0 up to the last bit of two sums of the same costs."""


@dataclass(frozen=True)
class Promise:
    """One task's guarded promise and what its test half did."""

    quality: float
    """The test half's quality."""
    bound: float
    """The promised ``quality_lower_bound``."""
    saving: float
    """The test half's saving (a fraction) against the baseline the promise names."""
    interval: tuple[float, float]
    """The promised ``saving_interval``."""
    kept_baseline: bool
    """The task kept its baseline: it promises a saving of exactly 0, which every test
    half meets, so its saving interval proves nothing and is not counted."""

    @property
    def quality_held(self) -> bool:
        return self.quality >= self.bound - SLACK

    @property
    def saving_held(self) -> bool:
        low, high = self.interval
        return low - SLACK <= self.saving <= high + SLACK

    def __str__(self) -> str:
        low, high = self.interval
        kept = " (baseline kept)" if self.kept_baseline else ""
        return (
            f"quality {self.quality:.4f} vs >= {self.bound:.4f}, "
            f"saving {self.saving:.1%} vs [{low:.1%}, {high:.1%}]{kept}"
        )


@dataclass(frozen=True)
class Split:
    """One split's test-half figures, and each task's promise."""

    loss: float
    """Quality points lost against the baseline picked on train."""
    saving: float
    """Percent saved against that baseline."""
    promises: tuple[Promise, ...]
    """Per task with a guarded promise (the legacy search makes none)."""


@functools.cache
def _records(path: str) -> list[OutcomeRecord]:
    """The file's records, read once per worker process (MMLU's take seconds to parse)."""
    return read_outcomes(Path(path))


def one_split(path: str, method: str, seed: int) -> Split:
    """Calibrate on seed's train half; the test half's figures and promise checks."""
    train, test = split_records(_records(path), 0.5, seed)
    policy = calibrate(train, SearchOptions(method=method, seed=seed))
    tested = OutcomeMatrix.of(test)
    baseline = single_model_figures(tested)[best_single_model(OutcomeMatrix.of(train))]
    routed = simulate_policy(policy, test)
    loss = (baseline.quality - routed.quality) * 100
    saving = (1 - routed.cost_usd / baseline.cost_usd) * 100 if baseline.cost_usd else 0.0
    return Split(loss, saving, promise_checks(policy, test))


def promise_checks(policy: Policy, test: list[OutcomeRecord]) -> tuple[Promise, ...]:
    """Per task whose train entry states a guarded promise, the promise and the test
    half's quality and saving against the policy's own ``baseline_model`` (the one the
    promise names, picked on the train half)."""
    checks = []
    for task, spec in sorted(policy.tasks.items()):
        promise = spec.train
        if promise.get("method") != "guarded":
            continue
        rows = [record for record in test if record.task == task]
        routed = simulate_policy(policy, rows)
        base = single_model_figures(OutcomeMatrix.of(rows))[promise["baseline_model"]]
        saving = 1.0 - routed.cost_usd / base.cost_usd if base.cost_usd else 0.0
        low, high = promise["saving_interval"]
        checks.append(
            Promise(
                quality=routed.quality,
                bound=promise["quality_lower_bound"],
                saving=saving,
                interval=(low, high),
                kept_baseline=tuple(spec.tiers) == (promise["baseline_model"],),
            )
        )
    return tuple(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, help="splits per set (default: DEFAULT_SPLITS)")
    parser.add_argument("--methods", default="guarded")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--data", type=Path, default=default_cache_dir())
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--splits", action="store_true", help="also print every split")
    args = parser.parse_args(argv)
    sets, methods = args.sets.split(","), args.methods.split(",")
    splits = {name: args.seeds or DEFAULT_SPLITS.get(name, 20) for name in sets}
    jobs = [
        (name, method, seed) for name in sets for method in methods for seed in range(splits[name])
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {
            job: pool.submit(one_split, str(args.data / f"{job[0]}.jsonl"), job[1], job[2])
            for job in jobs
        }
        results = {job: future.result() for job, future in futures.items()}
    if args.splits:
        for (name, method, seed), split in results.items():
            print(
                f"{name:12} {method:8} seed {seed:2d}: loss {split.loss:6.2f}pt "
                f"saving {split.saving:5.1f}%"
                + "".join(f"; {promise}" for promise in split.promises)
            )
    print(table(sets, methods, splits, results))
    return 0


def table(
    sets: list[str],
    methods: list[str],
    splits: dict[str, int],
    results: dict[tuple[str, str, int], Split],
) -> str:
    """One line per data set and method; promise coverage where the method promises."""
    lines = [
        f"{'set':12} {'method':8} {'splits':>6} {'loss<=1pt':>10} {'worst loss':>11} "
        f"{'mean saving':>12} {'n':>4} {'quality>=LB':>12} {'cascades':>9} {'saving in CI':>13}"
    ]
    for name in sets:
        for method in methods:
            rows = [results[(name, method, s)] for s in range(splits[name])]
            within = sum(r.loss <= 1.0 + 1e-9 for r in rows) / len(rows)
            worst = max(r.loss for r in rows)
            saving = sum(r.saving for r in rows) / len(rows)
            checks = [check for r in rows for check in r.promises]
            lines.append(
                f"{name:12} {method:8} {len(rows):6d} {within:10.0%} {worst:10.2f}pt "
                f"{saving:11.1f}% {coverage(checks)}"
            )
    return "\n".join(lines)


def coverage(promises: list[Promise]) -> str:
    """``n`` promises and the share whose quality bound held; how many chose a cascade
    (not the baseline) and the share of those whose saving interval held."""
    if not promises:
        return f"{'-':>4} {'-':>12} {'-':>9} {'-':>13}"
    n = len(promises)
    quality = sum(p.quality_held for p in promises) / n
    cascades = [p for p in promises if not p.kept_baseline]
    saving = f"{sum(p.saving_held for p in cascades) / len(cascades):.0%}" if cascades else "-"
    return f"{n:4d} {quality:12.0%} {len(cascades):9d} {saving:>13}"


if __name__ == "__main__":
    raise SystemExit(main())
