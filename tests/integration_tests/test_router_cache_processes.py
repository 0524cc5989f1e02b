"""The router's cache shared across processes: diskcache on one machine, Redis on many."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.integration_tests.router_cache_workers import ask, burst
from tests.services import delete_redis_prefix


@pytest.fixture(params=["diskcache", "redis"])
def shared_cache_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A cache both processes reach; the Redis one under a prefix deleted after the test."""
    if request.param == "diskcache":
        yield f"diskcache://{tmp_path / 'shared-cache'}"
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"costrouter-test-{uuid.uuid4().hex}:"
    yield f"{redis_url}?prefix={prefix}"
    delete_redis_prefix(redis_url, prefix)


def test_second_process_hits(openai_server: LocalOpenAIServer, shared_cache_url: str) -> None:
    openai_server.script([Reply("cached across processes")], model="gpt-4o-mini")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as first:
        assert first.submit(ask, openai_server.base_url, shared_cache_url, "hi").result() == (
            "cached across processes",
            False,
        )
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as second:
        assert second.submit(ask, openai_server.base_url, shared_cache_url, "hi").result() == (
            "cached across processes",
            True,
        )
    assert openai_server.request_count() == 1


def test_hundred_concurrent_requests_across_four_processes_make_one_call(
    openai_server: LocalOpenAIServer, shared_cache_url: str
) -> None:
    openai_server.set_latency(0.5)
    openai_server.script([Reply("one answer for all")], model="gpt-4o-mini")
    start_at = time.time() + 6  # spawned workers import langchain first
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(burst, openai_server.base_url, shared_cache_url, "same", start_at, 25)
            for _ in range(4)
        ]
        answers = [answer for future in futures for answer in future.result()]
    assert answers == ["one answer for all"] * 100
    assert openai_server.request_count() == 1


def test_unreachable_redis_is_a_miss_not_an_error(openai_server: LocalOpenAIServer) -> None:
    from tests.integration_tests.router_cache_workers import router_for

    router = router_for(openai_server.base_url, "redis://127.0.0.1:1/0")
    with pytest.warns(UserWarning, match="failed|unavailable|down"):
        first = router.invoke("hello")
    second = router.invoke("hello")
    assert first.response_metadata["costrouter"]["cache_hit"] is False
    assert second.response_metadata["costrouter"]["cache_hit"] is False
    assert openai_server.request_count() == 2
