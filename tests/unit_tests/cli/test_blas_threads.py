"""``costrouter`` runs numpy's OpenBLAS on one thread unless the environment says otherwise
(langchain_costrouter/cli/__init__.py, ``BLAS_THREADS``, says why)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit_tests.test_blas_threads import probe_environment

# A fresh interpreter runs the real entry point (its calibrate module loads numpy), then
# asks the bundled OpenBLAS how many threads it took.
_PROBE = """
import sys
from langchain_costrouter.cli import main
try:
    main(["calibrate", "--help"])
except SystemExit:
    pass
assert "numpy" in sys.modules, "calibrate's module no longer loads numpy: probe another way"
from tests.unit_tests.test_blas_threads import openblas_threads
print(openblas_threads())
"""


def threads_in_a_cli_run(environment: dict[str, str]) -> int | None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=environment, capture_output=True, text=True, check=True
    )
    reported = done.stdout.strip().splitlines()[-1]
    return None if reported == "None" else int(reported)


@pytest.fixture
def environment() -> dict[str, str]:
    return probe_environment({"OPENBLAS_NUM_THREADS"})


def test_the_command_runs_openblas_on_one_thread(environment: dict[str, str]) -> None:
    assert threads_in_a_cli_run(environment) == 1


def test_a_thread_count_the_environment_sets_is_kept(environment: dict[str, str]) -> None:
    assert threads_in_a_cli_run({**environment, "OPENBLAS_NUM_THREADS": "2"}) == 2
