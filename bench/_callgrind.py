"""Counting instructions with valgrind's callgrind: the figures a busy machine cannot move.

Wall and CPU time on a shared 2-core machine move by several percent from run to run;
callgrind counts the instructions the client process executes, the same on every run.
A bench re-runs itself under valgrind with ``--helper=PATH``: a small C library
(compiled here with ``cc`` against valgrind's ``callgrind.h``) whose `Counter` zeroes the
counters before each configuration's calls and dumps them after, labelled; `dumps` reads
the labelled totals back. Instructions are not time (a cache miss or a system call counts
as little), so these are the figures to compare before and after a change, beside the
timed benches.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HELPER = """
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""


class Counter:
    """The counters of the valgrind this process runs under (``--instr-atstart=no``)."""

    def __init__(self, helper: str) -> None:
        self._lib = ctypes.CDLL(helper)

    def start(self) -> None:
        """Begin instrumenting: after start-up and warm-up."""
        self._lib.cg_start()

    def zero(self) -> None:
        self._lib.cg_zero()

    def dump(self, label: str) -> None:
        """Dump the instructions counted since `zero`, under ``label``."""
        self._lib.cg_dump(label.encode())


@contextmanager
def helper_library() -> Iterator[tuple[Path, Path]]:
    """The compiled helper and a scratch directory for the dumps."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "helper.c").write_text(_HELPER)
        helper = work / "helper.so"
        subprocess.run(["cc", "-shared", "-fPIC", "-o", helper, work / "helper.c"], check=True)
        yield helper, work


def run(script: str, helper: Path, work: Path, *arguments: str) -> dict[str, int]:
    """``script`` with ``arguments`` and ``--helper`` under callgrind: instructions by label.

    Extra valgrind options go before ``--``: ``run(s, h, w, "--separate-threads=yes", "--",
    "--requests=100")``.
    """
    options, script_args = _split(arguments)
    work.mkdir()
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            *options,
            f"--callgrind-out-file={work}/callgrind.out.%p",
            sys.executable,
            script,
            *script_args,
            f"--helper={helper}",
        ],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return dumps(work)


def _split(arguments: tuple[str, ...]) -> tuple[list[str], list[str]]:
    if "--" not in arguments:
        return [], list(arguments)
    at = arguments.index("--")
    return list(arguments[:at]), list(arguments[at + 1 :])


def dumps(outputs: Path) -> dict[str, int]:
    """Instructions by dump label (a run with ``--separate-threads=yes`` dumps only the
    thread that asked)."""
    counts: dict[str, int] = {}
    for dump in outputs.glob("callgrind.out.*"):
        text = dump.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
        total = re.search(r"^summary: (\d+)", text, re.M)
        if label and total:
            counts[label.group(1)] = int(total.group(1))
    return counts
