"""Shared fixtures: the real services of this machine and the OpenAI-compatible test server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from langchain_costrouter.ledger.spool import SPOOL_DIR_ENV
from langchain_costrouter.router._settings import PROCESS_BREAKERS
from tests.services import POSTGRES_URL, REDIS_URL, require

pytest_plugins = ["tests.server_fixtures", "tests.otel_fixtures"]


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


@pytest.fixture(autouse=True)
def _closed_process_breakers() -> None:
    """Every test starts with the process's shared breakers closed.

    Routers built without ``breakers=`` share them (router/_settings.py), and the local
    server's deployments keep their keys from test to test: five failures of one test
    left the breaker open for the next, whose result then hung on the order tests ran in.
    """
    with PROCESS_BREAKERS._lock:
        PROCESS_BREAKERS._states.clear()
