"""bench/concurrency.py in instructions: what the router and its stores add, noise-free.

On this 2-core machine a round of bench/concurrency.py moves by 5-10% from the next one
(the machine's speed drifts over seconds), the size of the effects it is there to
show. Here the same configurations make the same calls, async and then sync ``batch()``
(64 in flight over loopback HTTP, every call a miss, the stores' background commits
counted) in a process run under valgrind's callgrind, which counts the instructions of
every thread of the client; the server runs natively in its own process. The counts
repeat within about 1%. Instructions are not time: a system call or a cache miss counts
as little, so this complements the timed bench rather than replacing it.

Run: python bench/concurrency_callgrind.py [--requests 200]   (needs valgrind and cc; ~8 min)
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _callgrind import Counter, helper_library, run
from _timing import print_table

DIRECT = "ChatOpenAI alone"
MODES = ("async", "sync batch")


def measure(helper: str, count: int, in_flight: int) -> None:
    """Under callgrind: each mode's and configuration's ``count`` calls, one dump each,
    labelled ``"<mode>: <configuration>"``."""
    from concurrency import configurations, server_process, time_async, time_sync

    valgrind = Counter(helper)
    with server_process() as base_url, tempfile.TemporaryDirectory() as tmp:
        models = configurations(base_url, Path(tmp))
        for model in models.values():  # warm up: connections, prepared statements, prices
            time_async(model, count, in_flight)
            time_sync(model, count, in_flight)
        gc.collect()
        gc.freeze()  # as bench/concurrency.py does
        valgrind.start()
        for mode, timer in zip(MODES, (time_async, time_sync), strict=True):
            for name, model in models.items():
                valgrind.zero()
                timer(model, count, in_flight)
                valgrind.dump(f"{mode}: {name}")  # the timer waits for the stores' commits


def report(counts: dict[str, int], count: int, in_flight: int) -> None:
    """One table per mode: instructions per call, and their ratio to ``ChatOpenAI`` alone."""
    by_mode: dict[str, dict[str, int]] = {mode: {} for mode in MODES}
    for label, total in counts.items():
        mode, name = label.split(": ", 1)
        by_mode[mode][name] = total
    for mode, mine in by_mode.items():
        base = mine[DIRECT]
        rows = [
            [
                name,
                f"{total / count:,.0f}",
                f"{total / base:.3f}",
                f"{(total - base) / count:+,.0f}",
            ]
            for name, total in sorted(mine.items(), key=lambda item: (item[0] != DIRECT, item[0]))
        ]
        print(
            f"\n{mode}: {count} distinct calls, {in_flight} in flight: client instructions per call"
        )
        print_table(["configuration", "instructions/call", "ratio", "added/call"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        measure(args.helper, args.requests, args.in_flight)
        return
    load = (f"--requests={args.requests}", f"--in-flight={args.in_flight}")
    with helper_library() as (helper, work):
        counts = run(__file__, helper, work / "all", *load)
    report(counts, args.requests, args.in_flight)


if __name__ == "__main__":
    main()
