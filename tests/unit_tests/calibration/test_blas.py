"""`calibrate` called from Python searches on one BLAS thread and gives the count back
(langchain_costrouter/calibration/_blas.py says why), unless the environment sets one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from langchain_costrouter.calibration._blas import THREAD_COUNT_VARIABLES
from tests.unit_tests.test_blas_threads import probe_environment

# A fresh interpreter loads numpy before anything else, as a notebook has it by the time
# it calibrates, then reads OpenBLAS's thread count during the search and after it.
_PROBE = """
import numpy
from langchain_costrouter.calibration import search
from tests.unit_tests.calibration.conftest import synthetic_records
from tests.unit_tests.test_blas_threads import openblas_threads

during = []
guarded_search = search.guarded_search

def spying(matrix, options):
    during.append(openblas_threads())
    return guarded_search(matrix, options)

search.guarded_search = spying
search.calibrate(synthetic_records(200))
print(during, openblas_threads())
"""


def threads_during_and_after(environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def environment() -> dict[str, str]:
    return probe_environment(THREAD_COUNT_VARIABLES)


def test_the_search_runs_on_one_thread_and_gives_the_count_back(
    environment: dict[str, str],
) -> None:
    cores = min(os.cpu_count() or 1, 64)  # OpenBLAS's default: a thread per core
    assert threads_during_and_after(environment) == f"[1] {cores}"


def test_a_count_the_environment_sets_is_kept(environment: dict[str, str]) -> None:
    assert threads_during_and_after({**environment, "OPENBLAS_NUM_THREADS": "2"}) == "[2] 2"
