"""The output cap on a server that ignores ``max_completion_tokens`` (as llama.cpp's does).

langchain-openai sends a call's ``max_tokens`` as ``max_completion_tokens``. The test server
in its llama.cpp mode reads only ``max_tokens``, so the cap holds only for a provider
configured with ``output_cap_field = "max_tokens"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter import Budget, RoutedChatModel
from langchain_costrouter.errors import BudgetExhaustedError
from langchain_costrouter.openai_compat import MaxTokensChatOpenAI
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.testing import LocalOpenAIServer, Reply

CAP = 12
LONG = " ".join(f"word{i}" for i in range(200))

CONFIG = """
[providers.llama]
base_url = "{base_url}"
api_key_env = "COSTROUTER_TEST_KEY"
{cap_line}

[models.local]
provider = "llama"
model = "qwen3-8b"
price = {{ input_per_mtok = 0.01, output_per_mtok = 0.01 }}

[routes]
chat = ["local"]
"""


@pytest.fixture(scope="module")
def llama_server() -> Iterator[LocalOpenAIServer]:
    with LocalOpenAIServer(output_cap_fields=("max_tokens",)) as server:
        yield server


@pytest.fixture
def server(llama_server: LocalOpenAIServer) -> Iterator[LocalOpenAIServer]:
    llama_server.reset()
    llama_server.script([Reply(LONG)])
    yield llama_server
    llama_server.reset()


def _child(cls: type[ChatOpenAI], server: LocalOpenAIServer) -> ChatOpenAI:
    return cls(model="qwen3-8b", base_url=server.base_url, api_key="test", max_retries=0)


def test_chat_openai_sends_max_completion_tokens_which_the_server_ignores(
    server: LocalOpenAIServer,
) -> None:
    answer = _child(ChatOpenAI, server).invoke("talk", max_tokens=CAP)
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] > CAP
    (request,) = server.requests
    assert request.body is not None and request.body["max_completion_tokens"] == CAP


@pytest.mark.parametrize("stream", [False, True])
def test_max_tokens_chat_openai_sends_max_tokens_and_the_cap_holds(
    server: LocalOpenAIServer, stream: bool
) -> None:
    model = _child(MaxTokensChatOpenAI, server)
    if stream:
        chunks = list(model.stream("talk", max_tokens=CAP, stream_options={"include_usage": True}))
        usage = next(c.usage_metadata for c in chunks if c.usage_metadata)
    else:
        usage = model.invoke("talk", max_tokens=CAP).usage_metadata
    assert usage is not None and usage["output_tokens"] == CAP
    (request,) = server.requests
    assert request.body is not None
    assert request.body["max_tokens"] == CAP and "max_completion_tokens" not in request.body


def _router(tmp_path: Path, server: LocalOpenAIServer, cap_line: str) -> RoutedChatModel:
    path = tmp_path / "costrouter.toml"
    path.write_text(CONFIG.format(base_url=server.base_url, cap_line=cap_line))
    return RoutedChatModel.from_config(path)  # one route: no default_task needed


@pytest.mark.parametrize(
    ("cap_line", "capped"),
    [
        ("", False),
        ('output_cap_field = "max_completion_tokens"', False),
        ('output_cap_field = "max_tokens"', True),
    ],
)
def test_the_config_option_makes_the_router_cap_hold(
    tmp_path: Path,
    server: LocalOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    cap_line: str,
    capped: bool,
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "test")
    answer = _router(tmp_path, server, cap_line).invoke("talk", max_tokens=CAP)
    (attempt,) = answer.response_metadata["costrouter"]["attempts"]
    assert (attempt["usage"]["output_tokens"] <= CAP) is capped


def test_an_answer_longer_than_its_cap_is_flagged_in_the_record_and_the_ledger(
    server: LocalOpenAIServer,
) -> None:
    router = RoutedChatModel(routes={"chat": [_child(ChatOpenAI, server)]}, ledger="memory://")
    answer = router.invoke("talk", max_tokens=CAP)
    (attempt,) = answer.response_metadata["costrouter"]["attempts"]
    assert attempt["output_cap_exceeded"] is True
    assert attempt["usage"]["output_tokens"] > CAP
    capped = RoutedChatModel(routes={"chat": [_child(MaxTokensChatOpenAI, server)]})
    server.script([Reply(LONG)])
    (attempt,) = capped.invoke("talk", max_tokens=CAP).response_metadata["costrouter"]["attempts"]
    assert "output_cap_exceeded" not in attempt


def test_the_flag_reaches_a_sql_ledger_and_budgets_stop_trusting_the_cap(
    tmp_path: Path, server: LocalOpenAIServer
) -> None:
    server.set_responder(lambda body: Reply(LONG))
    router = RoutedChatModel(
        routes={"chat": [_child(ChatOpenAI, server)]},
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        # $1 per thousand output tokens: a cap of 12 reserves $0.012, a 400-token answer costs
        # $0.40, and an untrusted cap reserves the learned bound (4,096 tokens: $4.10).
        prices=PriceTable({"qwen3-8b": ModelPrice(input_per_mtok=0, output_per_mtok=1000)}),
        budgets=[Budget(name="all", limit_usd=1)],
    )
    router.invoke("talk", max_tokens=CAP)  # trusted the cap; the server ignored it
    router.ledger_store.flush()
    (row,) = router.ledger_store.rows()
    assert row.output_cap_exceeded is True and row.output_tokens > CAP
    with pytest.raises(BudgetExhaustedError):  # $0.60 left, which the cap alone would pass
        router.invoke("talk", max_tokens=CAP)
