"""The model ids a ledger row keeps beside the deployment's name: the one sent, and the
one that answered.

A config file's ``[models.small]`` entry sends ``model = "gpt-4o-mini"``; the ledger calls
it ``small``. After the file moves ``small`` to another model, the rows of the two runs
are told apart by ``request_model`` (what was sent, as ``gen_ai.request.model`` reports
it) and ``response_model`` (what the provider said answered: what was billed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from langchain_costrouter import CostCallbackHandler, RetryPolicy, RoutedChatModel
from langchain_costrouter.ledger import Ledger, open_ledger
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import dead_url
from tests.services import drop_tables

CONFIG = """
[router]
default_task = "chat"

[providers.openai_compatible]
base_url = "{base_url}"
api_key_env = "COSTROUTER_TEST_KEY"
timeout = 5

[providers.down]
base_url = "{dead_url}"
api_key_env = "COSTROUTER_TEST_KEY"
timeout = 5

[models.small]
provider = "openai_compatible"
model = "gpt-4o-mini"

[models.gone]
provider = "down"
model = "gpt-4o"

[routes.chat]
tiers = [{{ models = ["small"] }}]

[routes.failover]
tiers = [{{ models = ["gone", "small"] }}]
"""
ANSWERED_BY = "gpt-4o-mini-2024-07-18"
NO_WAIT = RetryPolicy(max_retries=0, backoff_base=0.0, backoff_cap=0.0)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        with open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as opened:
            yield opened
        return
    url, prefix = str(request.getfixturevalue("postgres_url")), f"t{uuid.uuid4().hex[:12]}_"
    try:
        with open_ledger(url, table_prefix=prefix) as opened:
            yield opened
    finally:
        drop_tables(url, prefix)


@pytest.fixture
def router(
    tmp_path: Path,
    ledger: Ledger,
    openai_server: LocalOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
) -> RoutedChatModel:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    path = tmp_path / "costrouter.toml"
    path.write_text(CONFIG.format(base_url=openai_server.base_url, dead_url=dead_url()))
    return RoutedChatModel.from_config(
        path, ledger=ledger, cache="memory://", retry=NO_WAIT, telemetry=False
    )


def test_a_row_keeps_the_model_sent_and_the_model_that_answered(
    router: RoutedChatModel, ledger: Ledger, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("Hello", model=ANSWERED_BY)])
    answer = router.invoke("Hi")
    hit = router.invoke("Hi")  # from the cache: nothing sent
    ledger.flush()
    (paid, cached) = ledger.rows()
    assert (paid.model, paid.request_model, paid.response_model) == (
        "small",
        "gpt-4o-mini",
        ANSWERED_BY,
    )
    (attempt,) = answer.response_metadata["costrouter"]["attempts"]
    assert (attempt["request_model"], attempt["response_model"]) == ("gpt-4o-mini", ANSWERED_BY)
    # A hit keeps the ids of the answer it replays (the stored answer's original ones).
    assert hit.response_metadata["costrouter"]["cache_hit"] is True
    assert cached.cache_hit
    assert (cached.model, cached.request_model, cached.response_model) == (
        "small",
        "gpt-4o-mini",
        ANSWERED_BY,
    )


def test_a_failed_attempt_keeps_the_model_sent_and_no_answer(
    router: RoutedChatModel, ledger: Ledger, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("Hello", model=ANSWERED_BY)])
    router.invoke("Hi", config={"metadata": {"task": "failover"}})
    ledger.flush()
    failed, served = ledger.rows()
    assert failed.error is not None
    assert (failed.model, failed.request_model, failed.response_model) == ("gone", "gpt-4o", None)
    assert (served.request_model, served.response_model) == ("gpt-4o-mini", ANSWERED_BY)


def test_the_handler_keeps_both_ids_of_a_plain_model(
    ledger: Ledger, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("Hello", model=ANSWERED_BY)])
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="sk-test", max_retries=0
    )
    model.invoke("Hi", config={"callbacks": [CostCallbackHandler(ledger=ledger)]})
    ledger.flush()
    (row,) = ledger.rows()
    assert (row.request_model, row.response_model) == ("gpt-4o-mini", ANSWERED_BY)
