"""bench/concurrency.py in instructions: what the router and its stores add, noise-free.

On this 2-core machine a round of bench/concurrency.py moves by 5-10% from the next one
(the machine's speed drifts over seconds), the size of the effects it is there to
show. Here the same configurations make the same async calls (64 in flight over
loopback HTTP, every call a miss, the stores' background commits counted) in a process
run under valgrind's callgrind, which counts the instructions of every thread of the
client; the server runs natively in its own process. The counts repeat within about
1%. Instructions are not time: a system call or a cache miss counts as
little, so this complements the timed bench rather than replacing it.

Run: python bench/concurrency_callgrind.py [--requests 200]   (needs valgrind and cc; ~6 min)
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


def measure(helper: str, count: int, in_flight: int) -> None:
    """Under callgrind: each configuration's ``count`` calls, one labelled dump each."""
    from concurrency import configurations, server_process, time_async

    valgrind = Counter(helper)
    with server_process() as base_url, tempfile.TemporaryDirectory() as tmp:
        models = configurations(base_url, Path(tmp))
        for model in models.values():  # warm up: connections, prepared statements, prices
            time_async(model, count, in_flight)
        gc.collect()
        gc.freeze()  # as bench/concurrency.py does
        valgrind.start()
        for name, model in models.items():
            valgrind.zero()
            time_async(model, count, in_flight)  # waits for the stores' commits
            valgrind.dump(name)


def report(counts: dict[str, int], count: int, in_flight: int) -> None:
    base = counts[DIRECT]
    rows = [
        [
            name,
            f"{total / count:,.0f}",
            f"{total / base:.3f}",
            f"{(total - base) / count:+,.0f}",
        ]
        for name, total in counts.items()
    ]
    print(f"{count} distinct async calls, {in_flight} in flight: client instructions per call")
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
    order = [DIRECT, *sorted(name for name in counts if name != DIRECT)]
    report({name: counts[name] for name in order}, args.requests, args.in_flight)


if __name__ == "__main__":
    main()
