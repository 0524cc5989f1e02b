"""The routed ledger over HTTP: exact dollars per attempt in SQLite, Postgres and memory.

gpt-4o in genai-prices: $2.50/M input, $1.25/M cached input, $10/M output (reasoning
tokens are output tokens). A reply of 1000 prompt tokens (400 cached) and 500
completion tokens (200 reasoning) therefore costs exactly
600 x 2.50 + 400 x 1.25 + 500 x 10 = 7000 micro-dollars = $0.007.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter import CostCallbackHandler, RoutedChatModel
from langchain_costrouter.ledger import Ledger, open_ledger
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.services import drop_tables

EXPECTED = Decimal("0.007")


def _reply() -> Reply:
    return Reply(
        "priced answer",
        prompt_tokens=1000,
        completion_tokens=500,
        cached_tokens=400,
        reasoning_tokens=200,
    )


def _router(server: LocalOpenAIServer, ledger: str | Ledger, **kwargs: object) -> RoutedChatModel:
    child = ChatOpenAI(
        model="gpt-4o",
        base_url=server.base_url,
        api_key="test",
        max_retries=0,
        stream_usage=True,
        cache=False,
    )
    return RoutedChatModel(
        routes={"chat": [child]},
        default_task="chat",
        ledger=ledger,
        reference_model="gpt-4",
        **kwargs,
    )  # type: ignore[arg-type]


@pytest.fixture
def namespace() -> str:
    """A namespace no other test run writes to."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Ledger]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    elif request.param == "postgres":
        # Tables of this test's own, dropped after: the shared database's default tables are
        # left alone (their schema version belongs to whichever package version made them).
        url, prefix = str(request.getfixturevalue("postgres_url")), f"t{uuid.uuid4().hex[:12]}_"
        ledger = open_ledger(url, table_prefix=prefix)
        yield ledger
        ledger.close()
        drop_tables(url, prefix)
    else:
        yield "memory://"


def test_exact_dollars_for_invoke_stream_and_cache_hit(
    openai_server: LocalOpenAIServer, ledger_url: str | Ledger, namespace: str
) -> None:
    openai_server.script([_reply(), _reply()])
    router = _router(openai_server, ledger_url, cache="memory://", namespace=namespace)
    invoked = router.invoke("price me")
    streamed = list(router.stream("price me too"))
    hit = router.invoke("price me")
    assert invoked.response_metadata["costrouter"]["cost_usd"] == pytest.approx(0.007)
    assert streamed[-1].response_metadata["costrouter"]["cost_usd"] == pytest.approx(0.007)
    assert hit.response_metadata["costrouter"]["cache_hit"] is True
    ledger = router.ledger_store
    ledger.flush()
    run_ids = {m.response_metadata["costrouter"]["run_id"] for m in (invoked, streamed[-1], hit)}
    rows = [r for r in ledger.rows() if r.run_id in run_ids]
    paid = [r for r in rows if not r.cache_hit]
    assert len(rows) == 3 and len(paid) == 2
    assert all(r.cost_usd == EXPECTED for r in paid)
    assert all((r.cache_read_tokens, r.reasoning_tokens) == (400, 200) for r in paid)
    [cached] = [r for r in rows if r.cache_hit]
    assert cached.cost_usd == 0
    # gpt-4 as reference: $30/M input (no cache discount listed) and $60/M output.
    assert all(r.baseline_cost_usd == Decimal("0.06") for r in rows)
    assert all(r.reference_model == "gpt-4" for r in rows)
    ledger.close()


def test_report_json_over_a_test_ledger(openai_server: LocalOpenAIServer, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'report.sqlite'}"
    openai_server.script([_reply(), _reply()])
    router = _router(openai_server, url, cache="memory://")
    router.invoke("a")
    router.invoke("b")
    router.invoke("a")  # cache hit
    router.ledger_store.close()
    done = subprocess.run(
        [sys.executable, "-m", "langchain_costrouter", "report", "--ledger", url, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    totals = report["totals"]
    assert totals["cost_usd"] == pytest.approx(0.014)
    assert totals["reference_cost_usd"] == pytest.approx(0.18)
    assert totals["calls"] == 3
    assert totals["cache_hit_rate"] == pytest.approx(1 / 3)


def test_router_and_handler_on_one_ledger_count_a_stream_once(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([_reply()])
    router = _router(openai_server, "memory://")
    handler = CostCallbackHandler(ledger=router.ledger_store)
    list(router.stream("once", config={"callbacks": [handler]}))
    router.ledger_store.flush()
    assert len(router.ledger_store.rows()) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_a_usage_of_zero_tokens_is_estimated_not_free(
    openai_server: LocalOpenAIServer, stream: bool
) -> None:
    # Some OpenAI-compatible servers send usage {prompt_tokens: 0, completion_tokens: 0}
    # when they did not count: no call has an empty prompt, so that is no usage at all.
    openai_server.script([Reply("Paris is the capital.", prompt_tokens=0, completion_tokens=0)])
    ledger = open_ledger("memory://")
    router = _router(openai_server, ledger)
    if stream:
        for _ in router.stream("What is the capital of France?"):
            pass
    else:
        router.invoke("What is the capital of France?")
    (row,) = ledger.rows()
    assert row.usage_estimated is True
    assert row.input_tokens > 0 and row.output_tokens > 0
    assert row.cost_usd is not None and row.cost_usd > 0
