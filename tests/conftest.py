"""Shared fixtures: the real services of this machine and the OpenAI-compatible test server."""

from __future__ import annotations

import pytest

from tests.services import POSTGRES_URL, REDIS_URL, require

pytest_plugins = ["tests.server_fixtures", "tests.otel_fixtures"]


@pytest.fixture
def redis_url() -> str:
    return require(REDIS_URL, "Redis")


@pytest.fixture
def postgres_url() -> str:
    return require(POSTGRES_URL, "Postgres")
