"""Shared fixtures: the real services of this machine and the OpenAI-compatible test server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from langchain_costrouter.ledger.spool import SPOOL_DIR_ENV
from langchain_costrouter.router._settings import PROCESS_BREAKERS
from tests.services import POSTGRES_URL, REDIS_URL, require

pytest_plugins = ["tests.server_fixtures", "tests.otel_fixtures"]

# OpenBLAS's threads spin while they wait for work. On the shared 2-core machine a guarded
# search's many small matrix products (calibration/grid.py, _three_tier_sums) took 2.4
# times as long on two threads as on one (OVERRULING: 67 s of CPU against 27 s), and
# test_saving_interval.py with test_guarded.py 52-59 s against 39-42 s. Any thread count
# gives the same floats (policies compared bit for bit). Set before numpy loads (none of
# the imports above loads it: tests/unit_tests/test_blas_threads.py reads what OpenBLAS
# took); the tests' subprocesses inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture
def redis_url() -> str:
    return require(REDIS_URL, "Redis")


@pytest.fixture
def postgres_url() -> str:
    return require(POSTGRES_URL, "Postgres")


@pytest.fixture(scope="session", autouse=True)
def _private_spool_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Ledger journals of the tests (and their subprocesses) stay out of the user data dir."""
    before = os.environ.get(SPOOL_DIR_ENV)
    os.environ[SPOOL_DIR_ENV] = str(tmp_path_factory.mktemp("ledger-spool"))
    yield
    if before is None:
        del os.environ[SPOOL_DIR_ENV]
    else:
        os.environ[SPOOL_DIR_ENV] = before


DAY_BOUNDARY_MARGIN_SECONDS = 30.0


@pytest.fixture(autouse=True)
def _not_across_a_utc_day_boundary() -> None:
    """No test starts in the last seconds of a UTC day.

    Budgets count per calendar window (by default the UTC day, budgets/windows.py), so a
    test that reserves until refused and then asserts the spend saw a fresh window's
    accounts if it ran across midnight: test_stores.py's race once took 101
    reservations of $0.03 where two tenants' $1 hold 66 (each tenant between 33 and 66:
    33 before midnight, more after), which reproduces with a minute window started just
    before the minute turns. Waiting out the margin keeps such tests inside one window.
    """
    left = 86400.0 - time.time() % 86400.0
    if left < DAY_BOUNDARY_MARGIN_SECONDS:
        time.sleep(left + 0.5)


@pytest.fixture(autouse=True)
def _closed_process_breakers() -> None:
    """Every test starts with the process's shared breakers closed.

    Routers built without ``breakers=`` share them (router/_settings.py), and the local
    server's deployments keep their keys from test to test: five failures of one test
    left the breaker open for the next, whose result then hung on the order tests ran in.
    """
    with PROCESS_BREAKERS._lock:
        PROCESS_BREAKERS._states.clear()
