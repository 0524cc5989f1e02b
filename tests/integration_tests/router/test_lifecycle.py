"""`RoutedChatModel.close()`, ``aclose()`` and the ``with`` / ``async with`` blocks
(real SQLite files, a real diskcache directory, real ChatOpenAI on the local server).

Before, a router had no way to release what it opened: its ledger rows waited for the
writer thread's next round (or the process's exit), its cache writer thread idled on
for seconds, its shadow threads for the life of the process, and a budget settlement
its store had failed was retried until the process exited.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import Budget, RoutedChatModel
from langchain_costrouter.errors import RouterClosedError
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.testing import LocalOpenAIServer
from tests.fresh_python import fresh_python
from tests.integration_tests.shadow.test_shadow_router import PRICES
from tests.server_fixtures import openai_chat

ROUTER_THREADS = ("costrouter-ledger-writer", "costrouter-cache-writer", "costrouter-shadow-")
"""The threads a router starts for itself. The budget leases', telemetry's and the
semantic index's threads are the process's, shared by every router (see README)."""


def _router(server: LocalOpenAIServer, tmp_path: Path, **overrides: Any) -> RoutedChatModel:
    """A router that opens every kind of store from URLs: ledger, cache, budget store,
    shadow tables; every call of ``chat`` is shadowed by the ``strong`` reference."""
    return RoutedChatModel(
        **{
            "routes": {"chat": [openai_chat(server, "weak"), openai_chat(server, "strong")]},
            "default_task": "chat",
            "prices": PRICES,
            "budgets": [Budget(name="all", limit_usd=1, per=None, soft_threshold=None)],
            "budget_store": f"sqlite:///{tmp_path / 'budgets.db'}",
            "cache": f"diskcache://{tmp_path / 'cache'}",
            "ledger": f"sqlite:///{tmp_path / 'ledger.db'}",
            "shadow": ShadowConfig(
                tasks={"chat": 1.0}, score="exact", store=f"sqlite:///{tmp_path / 'shadow.db'}"
            ),
            **overrides,
        }
    )


def _ledger_rows(tmp_path: Path) -> dict[str, int]:
    """Rows per purpose in the ledger's SQLite file, read with sqlite3 alone."""
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        found = db.execute("SELECT purpose, count(*) FROM costrouter_ledger GROUP BY purpose")
        return dict(found.fetchall())


def _threads(before: set[int]) -> list[str]:
    """Router threads alive now that were not alive before the router was built."""
    return sorted(
        thread.name
        for thread in threading.enumerate()
        if thread.ident not in before and thread.name.startswith(ROUTER_THREADS)
    )


def _cache_hit_in_a_new_process(server: LocalOpenAIServer, tmp_path: Path, prompt: str) -> Any:
    """Whether a router of another process, on the same cache directory, hits ``prompt``."""
    cache = f"diskcache://{tmp_path / 'cache'}"
    return fresh_python(
        "import json\n"
        "from langchain_openai import ChatOpenAI\n"
        "from langchain_costrouter import RoutedChatModel\n"
        "def chat(model):\n"
        f"    return ChatOpenAI(model=model, base_url={server.base_url!r}, api_key='test',"
        " max_retries=0, stream_usage=True)\n"
        "router = RoutedChatModel(routes={'chat': [chat('weak'), chat('strong')]},"
        f" default_task='chat', cache={cache!r})\n"
        f"answer = router.invoke({prompt!r})\n"
        "print(json.dumps(answer.response_metadata['costrouter']['cache_hit']))\n"
    )


def test_close_writes_every_row_commits_the_cache_and_stops_the_router_s_threads(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    before = {thread.ident for thread in threading.enumerate() if thread.ident is not None}
    router = _router(openai_server, tmp_path)
    for question in ("What is 1 + 1?", "What is 2 + 2?", "What is 3 + 3?"):
        router.invoke(question)
    assert _threads(before)  # the router's own threads run
    router.close()
    assert _threads(before) == []  # none outlives close()
    # Every call's row and every shadow evaluation's row is in the file.
    assert _ledger_rows(tmp_path) == {"production": 3, "shadow": 3}
    assert openai_server.request_count("strong") == 3  # every sample was evaluated
    with sqlite3.connect(tmp_path / "shadow.db") as db:
        assert db.execute("SELECT count(*) FROM costrouter_shadow_samples").fetchone() == (3,)
    # The cache's entries are committed: another process's router hits them.
    assert _cache_hit_in_a_new_process(openai_server, tmp_path, "What is 3 + 3?") is True
    assert openai_server.request_count("weak") == 3  # answered from the cache


def test_close_twice_is_fine_and_a_call_after_close_says_what_to_do(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    router = _router(openai_server, tmp_path)
    router.invoke("hi")
    router.close()
    router.close()  # nothing left to close: no error, no warning
    with pytest.raises(RouterClosedError, match="Build a new RoutedChatModel"):
        router.invoke("hi again")
    with pytest.raises(RouterClosedError):
        list(router.stream("hi again"))
    copy = router.model_copy()  # a copy shares the closed stores: closed as well
    with pytest.raises(RouterClosedError):
        copy.invoke("hi again")
    assert openai_server.request_count("weak") == 1  # refused before any provider call
    assert _ledger_rows(tmp_path) == {"production": 1, "shadow": 1}


def test_closing_a_copy_closes_the_stores_it_shares(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    router = _router(openai_server, tmp_path, shadow=None)
    copy = router.model_copy(update={"namespace": "other"})
    copy.invoke("hi")
    copy.close()
    with pytest.raises(RouterClosedError):
        router.invoke("hi")
    assert _ledger_rows(tmp_path) == {"production": 1}


def test_the_with_statement_closes_the_router(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    before = {thread.ident for thread in threading.enumerate() if thread.ident is not None}
    with _router(openai_server, tmp_path) as router:
        router.invoke("hi")
    assert _threads(before) == []
    assert _ledger_rows(tmp_path) == {"production": 1, "shadow": 1}
    with pytest.raises(RouterClosedError):
        router.invoke("hi")


def test_the_with_statement_closes_the_router_when_its_body_raises(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    def body() -> None:
        with _router(openai_server, tmp_path) as router:
            router.invoke("hi")
            raise KeyError("the body's own error")

    with pytest.raises(KeyError, match="the body's own error"):  # not swallowed, not replaced
        body()
    assert _ledger_rows(tmp_path) == {"production": 1, "shadow": 1}


async def test_aclose_and_async_with_close_the_router(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    before = {thread.ident for thread in threading.enumerate() if thread.ident is not None}
    async with _router(openai_server, tmp_path) as router:
        await asyncio.gather(*(router.ainvoke(f"What is {n} + {n}?") for n in range(4)))
    assert _threads(before) == []
    assert _ledger_rows(tmp_path) == {"production": 4, "shadow": 4}
    with pytest.raises(RouterClosedError):
        await router.ainvoke("hi")
    await router.aclose()  # twice is fine


def test_stores_passed_in_as_objects_stay_open_for_their_owner(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    with _router(openai_server, tmp_path, ledger=ledger, shadow=None) as router:
        router.invoke("hi")
    ledger.flush()  # still open: the caller's to flush and close
    assert [row.model for row in ledger.rows()] == ["weak"]
    ledger.close()
