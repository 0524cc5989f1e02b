"""A config file's models on spans and metrics: the conventions' names, and the file's.

A ``[models.NAME]`` entry calls its provider with ``model = "..."``; the ledger and the
routes call it NAME. The GenAI conventions ask for the id the request is made with
(``gen_ai.request.model``, and the attempt span's name) and a well-known provider value
(``gen_ai.provider.name``); the entry's name rides along as ``costrouter.model``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter import CircuitBreakers, RetryPolicy, RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.otel_fixtures import Otel
from tests.server_fixtures import dead_url

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

[models.big]
provider = "openai_compatible"
model = "gpt-4o"

[models.gone]
provider = "down"
model = "gpt-4o-mini"

[[routes.chat.tiers]]
models = ["small"]
threshold = 1.0
check = {{ kind = "label_set", labels = ["Yes", "No"] }}

[[routes.chat.tiers]]
models = ["big"]

[routes.failover]
tiers = [{{ models = ["gone", "small"] }}]
"""
NO_WAIT = RetryPolicy(max_retries=0, backoff_base=0.0, backoff_cap=0.0)


@pytest.fixture
def router(
    tmp_path: Path,
    otel: Otel,
    openai_server: LocalOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
) -> RoutedChatModel:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    path = tmp_path / "costrouter.toml"
    path.write_text(CONFIG.format(base_url=openai_server.base_url, dead_url=dead_url()))
    return RoutedChatModel.from_config(
        path,
        telemetry=otel.providers,
        retry=NO_WAIT,
        breakers=CircuitBreakers(failure_threshold=1, cooldown=60.0),
    )


def test_attempt_spans_name_the_model_id_requested_and_the_entry(
    router: RoutedChatModel, otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("Maybe")], model="gpt-4o-mini")
    record = router.invoke("Is it spam?").response_metadata["costrouter"]
    assert [a["model"] for a in record["attempts"]] == ["small", "big"]  # the ledger's names
    cheap, strong = otel.spans("chat ")
    assert (cheap.name, strong.name) == ("chat gpt-4o-mini", "chat gpt-4o")
    for span, requested, entry in ((cheap, "gpt-4o-mini", "small"), (strong, "gpt-4o", "big")):
        assert span.attributes is not None
        assert span.attributes["gen_ai.request.model"] == requested
        assert span.attributes["gen_ai.response.model"] == requested
        assert span.attributes["gen_ai.provider.name"] == "openai"  # not "openai_compatible"
        assert span.attributes["costrouter.model"] == entry
    (call,) = otel.spans("costrouter.route chat")
    assert call.attributes is not None and call.attributes["costrouter.served_model"] == "big"


def test_metrics_name_the_model_id_requested_and_cost_the_entry(
    router: RoutedChatModel, otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Reply("Maybe")], model="gpt-4o-mini")
    record = router.invoke("Is it spam?").response_metadata["costrouter"]
    durations = otel.points("gen_ai.client.operation.duration")
    assert sorted(
        (
            p.attributes["gen_ai.provider.name"],
            p.attributes["gen_ai.request.model"],
            p.attributes["costrouter.model"],
        )
        for p in durations
    ) == [("openai", "gpt-4o", "big"), ("openai", "gpt-4o-mini", "small")]
    tokens = otel.points("gen_ai.client.token.usage")
    assert {p.attributes["costrouter.model"] for p in tokens} == {"small", "big"}
    cost = otel.points("costrouter.cost")
    assert {p.attributes["costrouter.model"]: p.value for p in cost} == {
        a["model"]: a["cost_usd"] for a in record["attempts"]
    }
    assert all("gen_ai.request.model" not in p.attributes for p in cost)  # one meaning only


def test_a_skipped_attempt_names_the_entry(
    router: RoutedChatModel, otel: Otel, openai_server: LocalOpenAIServer
) -> None:
    router.invoke("hello", task="failover")  # gone fails: its breaker opens
    record = router.invoke("hello", task="failover").response_metadata["costrouter"]
    assert record["attempts"][0]["reason"] == "skipped: circuit open"
    _, second = otel.spans("costrouter.route failover")
    (event,) = second.events
    assert event.attributes is not None
    assert event.attributes["costrouter.model"] == "gone"
    assert "gen_ai.request.model" not in event.attributes  # no request was made
