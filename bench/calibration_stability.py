"""Does calibration keep its promise on data it has never seen? 20 splits per data set.

For every shared outcomes file (``python bench/convert_data.py`` writes them) and seeds
0-19: split the records in half by seed, calibrate on the train half, and measure on the
test half the quality lost against the baseline (the best single model on the train
half, evaluated on the test half) and the saving. Prints, per data set and method, the
share of splits losing at most 1 point, the worst loss and the mean saving.

The test-half figures are the closed-form replay of the policy (`evaluate.simulate_policy`,
the same checks the router runs); ``costrouter calibrate`` replays through the router.

Usage::

    python bench/calibration_stability.py [--seeds 20] [--methods guarded,legacy] [--sets ...]
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
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
from langchain_costrouter.calibration.search import calibrate  # noqa: E402
from langchain_costrouter.outcomes import read_outcomes  # noqa: E402

SETS = ("overruling", "gsm8k", "mmlu", "mt_bench")


def one_split(path: str, method: str, seed: int) -> tuple[float, float]:
    """(test loss in points, saving in %) of one split."""
    records = read_outcomes(Path(path))
    train, test = split_records(records, 0.5, seed)
    policy = calibrate(train, SearchOptions(method=method, seed=seed))
    tested = OutcomeMatrix.of(test)
    baseline = single_model_figures(tested)[best_single_model(OutcomeMatrix.of(train))]
    routed = simulate_policy(policy, test)
    loss = (baseline.quality - routed.quality) * 100
    saving = (1 - routed.cost_usd / baseline.cost_usd) * 100 if baseline.cost_usd else 0.0
    return loss, saving


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--methods", default="guarded,legacy")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--data", type=Path, default=default_cache_dir())
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--splits", action="store_true", help="also print every split")
    args = parser.parse_args(argv)
    jobs = [
        (name, method, seed)
        for name in args.sets.split(",")
        for method in args.methods.split(",")
        for seed in range(args.seeds)
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {
            job: pool.submit(one_split, str(args.data / f"{job[0]}.jsonl"), job[1], job[2])
            for job in jobs
        }
        results = {job: future.result() for job, future in futures.items()}
    if args.splits:
        for (name, method, seed), (loss, saving) in results.items():
            print(f"{name:12} {method:8} seed {seed:2d}: loss {loss:6.2f}pt saving {saving:5.1f}%")
    print(
        f"{'set':12} {'method':8} {'splits':>6} {'loss<=1pt':>10} {'worst loss':>11} "
        f"{'mean saving':>12}"
    )
    for name in args.sets.split(","):
        for method in args.methods.split(","):
            rows = [results[(name, method, s)] for s in range(args.seeds)]
            within = sum(loss <= 1.0 + 1e-9 for loss, _ in rows) / len(rows)
            worst = max(loss for loss, _ in rows)
            saving = sum(s for _, s in rows) / len(rows)
            print(
                f"{name:12} {method:8} {len(rows):6d} {within:10.0%} {worst:10.2f}pt "
                f"{saving:11.1f}%"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
