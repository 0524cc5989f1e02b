"""Reach the Redis and Postgres servers of this machine, or skip (or fail) visibly.

Tests that need a service skip with the reason when it is unreachable, and fail
instead when ``COSTROUTER_REQUIRE_SERVICES=1`` (set by ``.ci/run``), so CI can never
pass by skipping them.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "COSTROUTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def services_required() -> bool:
    return os.environ.get("COSTROUTER_REQUIRE_SERVICES") == "1"


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), 1.0):
            return True
    except OSError:
        return False


def require(url: str, name: str) -> str:
    """Return ``url`` when the service answers; skip or fail otherwise."""
    if reachable(url):
        return url
    reason = f"{name} is not reachable at {url}"
    if services_required():
        pytest.fail(f"{reason} and COSTROUTER_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)
