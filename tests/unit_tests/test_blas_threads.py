"""The test session runs numpy's OpenBLAS on one thread (tests/conftest.py says why).

The root conftest sets ``OPENBLAS_NUM_THREADS`` unless the environment already does, and
it only works if nothing loads numpy first; this reads the thread count OpenBLAS took.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pytest

GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def openblas_threads() -> int | None:
    """The thread count of the OpenBLAS bundled with numpy, or None if there is none."""
    bundled = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for library in sorted(bundled.glob("*openblas*")):
        loaded = ctypes.CDLL(str(library))
        for name in GETTERS:
            getter = getattr(loaded, name, None)
            if getter is not None:
                return int(getter())
    return None


def probe_environment(unset: Collection[str]) -> dict[str, str]:
    """This process's environment without ``unset``, for a child that reports OpenBLAS's
    thread count; the calling test is skipped where that count tells nothing apart."""
    if openblas_threads() is None:
        pytest.skip("this numpy bundles no OpenBLAS whose thread count can be read")
    if (os.cpu_count() or 1) < 2:
        pytest.skip("OpenBLAS takes one thread on one core anyway: nothing to tell apart")
    return {k: v for k, v in os.environ.items() if k not in unset}


def test_numpy_s_openblas_runs_on_one_thread() -> None:
    threads = openblas_threads()
    if threads is None:
        pytest.skip("this numpy bundles no OpenBLAS whose thread count can be read")
    assert threads == int(os.environ["OPENBLAS_NUM_THREADS"])  # "1" unless set outside
