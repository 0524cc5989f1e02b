"""Issue 19's table for the current code: calibration, the semantic cache and CLI start at scale.

* ``costrouter calibrate --json`` on synthetic outcomes (4 models, 3 tasks, ~300-character
  prompts, generated deterministically from the row number): wall time and the peak RSS
  of that one child process (``os.wait4``'s rusage, so earlier children do not count).
  Targets: 100k rows <= 90 s and <= 1 GB; 1M rows (``--sizes ...,1000000``, five to six
  minutes) <= 15 min and <= 2 GB.
* The semantic cache, warm hit and cold start, at each size (bench/semantic.py's own
  ``measure_partition`` on the in-process store). Targets: warm <= 2 ms, cold <= 1 s at 100k.
* CLI start (bench/startup.py's ``measure``): ``--help`` <= 0.3 s, ``report`` <= 1 s.

Figures are medians where the underlying bench takes them (one run per calibrate size:
they take minutes); the machine is shared, so ratios to the smallest size and growth
exponents (time ~ size^k) matter more than the absolute seconds. The calibrate table
also gives each child's CPU seconds (user + system), steadier than wall time under load.

``--against DIR`` runs the same calibrate children with another checkout's package
(e.g. ``/work/main``) first on ``PYTHONPATH``, interleaved with this one size by size,
and prints both and their ratio: a before/after measured in one run.

Run: python bench/scale.py [--sizes 1000,10000,100000] [--cache-sizes 1000,10000,100000]
                           [--quick] [--skip cache,startup] [--against DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import semantic
import startup
from _timing import print_table

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (200, 1_000)
MODELS = {"tiny": 2e-7, "small": 1e-6, "medium": 5e-6, "large": 2.5e-5}
"""Synthetic models and their USD per prompt character (cost grows with the prompt)."""
TASKS = ("qa", "math", "code")
CALIBRATE_TARGET = {100_000: (90.0, 1024.0), 1_000_000: (900.0, 2048.0)}
"""Rows -> (seconds, peak MB) the issue asks for."""
CACHE_TARGET = (0.002, 1.0)
"""Warm hit and cold start seconds at 100k entries."""


def outcome_line(n: int) -> dict[str, object]:
    """Row ``n`` of the synthetic set: a ~300-character prompt and four scored answers."""
    task = TASKS[n % len(TASKS)]
    prompt = (f"Question {n} about {task}: " + "please explain the following carefully. " * 8)[:300]
    difficulty = (n * 2654435761 % 1000) / 1000
    outcomes = {}
    for rank, (model, price) in enumerate(MODELS.items()):
        right = difficulty < 0.35 + 0.18 * rank + 0.05 * TASKS.index(task)
        outcomes[model] = {
            "text": f"{model} answer {n}",
            "score": 1.0 if right else 0.0,
            "cost_usd": price * len(prompt),
        }
    return {
        "id": f"q{n}",
        "task": task,
        "messages": [{"role": "user", "content": prompt}],
        "outcomes": outcomes,
    }


def write_outcomes(path: Path, rows: int) -> Path:
    with path.open("w") as file:
        for n in range(rows):
            file.write(json.dumps(outcome_line(n)) + "\n")
    return path


Figures = tuple[float, float, float]
"""Wall seconds, peak RSS (MB) and CPU seconds of one calibrate child."""


def calibrate_figures(path: Path, package: str | None = None) -> Figures:
    """Wall seconds, peak RSS (MB) and CPU seconds of one ``costrouter calibrate --json`` child.

    ``package``: a checkout whose ``langchain_costrouter`` the child imports instead of
    this one's.
    """
    argv = [sys.executable, "-c", startup.CLI, "calibrate", str(path), "--json"]
    env = dict(os.environ)
    root = package or str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    started = time.perf_counter()
    # ``python -c`` puts the working directory first on sys.path: run in the checkout.
    child = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=root
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"calibrate failed on {path}: {child.stderr.read().decode()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss / 1024, cpu  # Linux reports kilobytes


def measure_calibrate(
    sizes: Sequence[int], against: str | None = None
) -> tuple[dict[int, Figures], dict[int, Figures]]:
    """This checkout's figures per size, and ``against``'s (interleaved; empty without it)."""
    results: dict[int, Figures] = {}
    baseline: dict[int, Figures] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = write_outcomes(Path(tmp) / f"outcomes-{size}.jsonl", size)
            if against is not None:
                baseline[size] = calibrate_figures(path, against)
                print(f"calibrate {size} ({against}): {baseline[size]}", file=sys.stderr)
            results[size] = calibrate_figures(path)
            print(f"calibrate {size}: {results[size]}", file=sys.stderr, flush=True)
    return results, baseline


def measure_cache(sizes: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Warm hit and cold start seconds per partition size (in-process store)."""
    results = {}
    for size in sizes:
        with semantic.store_url("memory", size) as url:
            figures = semantic.measure_partition(url, size)
        results[size] = (figures["semantic hit, warm"], figures["semantic hit, cold"])
        print(f"cache {size}: {results[size]}", file=sys.stderr, flush=True)
    return results


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_calibrate(results: dict[int, Figures]) -> None:
    sizes = sorted(results)
    first = results[sizes[0]]
    rows: list[list[object]] = []
    for size in sizes:
        seconds, megabytes, cpu = results[size]
        target = CALIBRATE_TARGET.get(size)
        verdict = ""
        if target is not None:
            verdict = f"<= {target[0]:.0f} s, {target[1]:.0f} MB: " + _verdict(
                seconds <= target[0] and megabytes <= target[1]
            )
        rows.append(
            [
                f"{size:,}",
                f"{seconds:.1f}",
                f"{seconds / first[0]:.1f}",
                f"{cpu:.1f}",
                f"{megabytes:.0f}",
                f"{megabytes / first[1]:.2f}",
                verdict,
            ]
        )
    headers = ["rows", "wall s", "x smallest", "cpu s", "peak MB", "x smallest", "target"]
    print_table(headers, rows)
    if len(sizes) > 1:
        wall = semantic.growth_exponent(sizes, [results[s][0] for s in sizes])
        memory = semantic.growth_exponent(sizes, [results[s][1] for s in sizes])
        print(f"growth exponents: wall {wall:.2f}, peak RSS {memory:.2f}")


def print_against(results: dict[int, Figures], baseline: dict[int, Figures], name: str) -> None:
    """This checkout against ``name``, size by size (interleaved runs): ratios new / old."""
    rows = []
    for size in sorted(results):
        (wall, rss, cpu), (old_wall, old_rss, old_cpu) = results[size], baseline[size]
        rows.append(
            [
                f"{size:,}",
                f"{old_wall:.1f} -> {wall:.1f}",
                f"{wall / old_wall:.2f}",
                f"{old_cpu:.1f} -> {cpu:.1f}",
                f"{cpu / old_cpu:.2f}",
                f"{old_rss:.0f} -> {rss:.0f}",
                f"{rss / old_rss:.2f}",
            ]
        )
    print(f"against {name} (same files, interleaved; ratio = this / {name})")
    headers = ["rows", "wall s", "ratio", "cpu s", "ratio", "peak MB", "ratio"]
    print_table(headers, rows)


def print_cache(results: dict[int, tuple[float, float]]) -> None:
    sizes = sorted(results)
    rows = []
    for size in sizes:
        warm, cold = results[size]
        verdict = ""
        if size >= 100_000:
            verdict = _verdict(warm <= CACHE_TARGET[0] and cold <= CACHE_TARGET[1])
        rows.append([f"{size:,}", f"{warm * 1e3:.3f}", f"{cold * 1e3:.1f}", verdict])
    print_table(["entries", "warm hit ms", "cold start ms", "<= 2 ms / 1 s"], rows)
    if len(sizes) > 1:
        warm_k = semantic.growth_exponent(sizes, [results[s][0] for s in sizes])
        cold_k = semantic.growth_exponent(sizes, [results[s][1] for s in sizes])
        print(f"growth exponents: warm {warm_k:.2f}, cold {cold_k:.2f}")


def _sizes(given: str | None, default: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(s) for s in given.split(",")) if given else tuple(default)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated outcome rows for calibrate")
    parser.add_argument("--cache-sizes", help="comma-separated semantic cache entries")
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 start-up rounds")
    parser.add_argument("--skip", default="", help="any of calibrate,cache,startup")
    parser.add_argument("--against", metavar="DIR", help="also run calibrate from this checkout")
    args = parser.parse_args(argv)
    default = QUICK_SIZES if args.quick else SIZES
    sizes = _sizes(args.sizes, default)
    cache_sizes = _sizes(args.cache_sizes, default)
    skip = set(filter(None, args.skip.split(",")))
    if "calibrate" not in skip:
        print("costrouter calibrate --json (one run per size)")
        results, baseline = measure_calibrate(sizes, args.against)
        print_calibrate(results)
        print()
        if args.against:
            print_against(results, baseline, args.against)
            print()
    if "cache" not in skip:
        print("semantic cache, memory store (bench/semantic.py medians)")
        print_cache(measure_cache(cache_sizes))
        print()
    if "startup" not in skip:
        print("CLI start (bench/startup.py medians)")
        startup.print_figures(startup.measure(3 if args.quick else 11))


if __name__ == "__main__":
    main()
