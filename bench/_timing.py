"""Timing helpers shared by the benchmarks: interleaved rounds, medians, a plain table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def median_seconds(fn: Callable[[], object], *, calls: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean time per call of ``calls`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def interleaved(
    fns: dict[str, Callable[[], object]], *, calls: int, rounds: int
) -> dict[str, float]:
    """Medians of each function, measured round-robin so drift hits all alike."""
    per_fn: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            per_fn[name].append(median_seconds(fn, calls=calls, rounds=1))
    return {name: statistics.median(values) for name, values in per_fn.items()}


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
