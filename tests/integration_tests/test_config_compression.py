"""Prompt compression configured in the TOML file, over HTTP against the test server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_costrouter import ConfigError, RoutedChatModel
from langchain_costrouter.compression.scripted import keep_leading_sentences
from langchain_costrouter.config import load_router_kwargs
from langchain_costrouter.ledger import InMemoryLedger
from langchain_costrouter.testing import LocalOpenAIServer, Reply

PROMPT = (
    Path(__file__).parents[1] / "data" / "compression" / "bloated_system_prompt.md"
).read_text()

HEAD = """
[router]
default_task = "chat"
{router_compress}

[providers.local]
base_url = "{base_url}"
api_key_env = "COSTROUTER_TEST_KEY"
timeout = 5

[models.cheap]
provider = "local"
model = "gpt-4o-mini"

[models.big]
provider = "local"
model = "gpt-4o"
price = {{ input_per_mtok = 10, output_per_mtok = 30 }}

[routes]
plain = ["big"]

[routes.chat]
tiers = ["big"]
{route_compress}
"""
LLM_COMPRESS = (
    'compress = { model = "cheap", strategies = ["deterministic", "llm"], '
    'target_ratio = 0.5, min_tokens = 200, protect_patterns = ["NW-[0-9]+"] }'
)
BIG_INPUT_USD_PER_TOKEN = 10 / 1_000_000
MINI_USD_PER_TOKEN = (0.15 / 1_000_000, 0.6 / 1_000_000)


def _config(
    tmp_path: Path,
    server: LocalOpenAIServer,
    *,
    route_compress: str = "",
    router_compress: str = "",
) -> Path:
    path = tmp_path / "costrouter.toml"
    text = HEAD.format(
        base_url=server.base_url, route_compress=route_compress, router_compress=router_compress
    )
    path.write_text(text)
    return path


def _answer(body: dict[str, Any]) -> Reply:
    """The compressor model halves the prose it is given; the served model says "ok"."""
    if body["model"] == "gpt-4o-mini":
        return Reply(keep_leading_sentences(0.5)(body["messages"][-1]["content"]))
    return Reply("ok")


@pytest.fixture
def server(openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> LocalOpenAIServer:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    openai_server.set_responder(_answer)
    return openai_server


def _ask(router: RoutedChatModel, question: str, task: str = "chat") -> dict[str, Any]:
    message = router.invoke([SystemMessage(PROMPT), HumanMessage(question)], task=task)
    record: dict[str, Any] = message.response_metadata["costrouter"]
    return record


def test_a_route_compresses_with_a_configured_model_once(
    tmp_path: Path, server: LocalOpenAIServer
) -> None:
    ledger = InMemoryLedger()
    path = _config(tmp_path, server, route_compress=LLM_COMPRESS)
    router = RoutedChatModel.from_config(path, ledger=ledger)

    uncompressed = _ask(router, "Where is order NW-1?", task="plain")
    first = _ask(router, "Where is order NW-1?")
    second = _ask(router, "Can I get a refund?")

    plain_call, compressor_call, child_call, second_child_call = server.requests
    assert [r.model for r in server.requests] == ["gpt-4o", "gpt-4o-mini", "gpt-4o", "gpt-4o"]
    assert child_call.prompt_tokens < 0.8 * plain_call.prompt_tokens
    assert second_child_call.prompt_tokens < 0.8 * plain_call.prompt_tokens
    assert "compression_tokens_saved" not in uncompressed

    compressor = first["attempts"][0]
    assert (compressor["role"], compressor["tier"], compressor["model"]) == (
        "compressor",
        -1,
        "gpt-4o-mini",
    )
    assert compressor["cost_usd"] == pytest.approx(
        compressor_call.prompt_tokens * MINI_USD_PER_TOKEN[0]
        + compressor_call.completion_tokens * MINI_USD_PER_TOKEN[1]
    )
    assert [a.get("role", "answer") for a in second["attempts"]] == ["answer"]

    saved = first["compression_tokens_saved"]
    assert saved > 0.2 * plain_call.prompt_tokens
    assert first["compression_saved_usd"] == pytest.approx(saved * BIG_INPUT_USD_PER_TOKEN)
    assert second["compression_tokens_saved"] == saved  # the memo returns the same text

    (chat,) = [row for row in ledger.summary(by="task") if row.key == "chat"]
    assert chat.compression_tokens_saved == 2 * saved
    assert float(chat.compression_cost_usd or 0) == pytest.approx(compressor["cost_usd"])
    assert float(chat.compression_net_usd or 0) == pytest.approx(
        2 * saved * BIG_INPUT_USD_PER_TOKEN - compressor["cost_usd"]
    )


def test_router_compress_applies_to_every_task_without_a_model(
    tmp_path: Path, server: LocalOpenAIServer
) -> None:
    deterministic = '[router.compress]\nstrategies = ["deterministic"]\nmin_tokens = 100'
    router = RoutedChatModel.from_config(_config(tmp_path, server, router_compress=deterministic))

    record = _ask(router, "Where is order NW-1?", task="plain")

    (call,) = server.requests  # no compressor model call: the free strategy only
    assert record["compression_tokens_saved"] > 0
    assert [a["model"] for a in record["attempts"]] == ["big"]
    uncompressed = RoutedChatModel.from_config(_config(tmp_path, server))
    _ask(uncompressed, "Where is order NW-1?", task="plain")
    assert call.prompt_tokens < server.requests[1].prompt_tokens


def test_a_route_setting_overrides_the_router_wide_one(
    tmp_path: Path, server: LocalOpenAIServer
) -> None:
    path = _config(
        tmp_path,
        server,
        route_compress=LLM_COMPRESS,
        router_compress='compress = { strategies = ["deterministic"] }',
    )
    compressors = load_router_kwargs(path)["compressors"]

    assert set(compressors) == {"chat", "*"}
    assert compressors["chat"].settings.strategies == ("deterministic", "llm")
    assert compressors["chat"].settings.memo is not compressors["*"].settings.memo
    assert compressors["*"].llm is None


@pytest.mark.parametrize(
    ("compress", "key", "message"),
    [
        ('compress = { model = "nope" }', "routes.chat.compress.model", "expected one of"),
        (
            "compress = { target_ration = 0.5 }",
            "routes.chat.compress.target_ration",
            "unknown key; did you mean `target_ratio`?",
        ),
        ("compress = { min_tokens = 1.5 }", "routes.chat.compress.min_tokens", "whole number"),
        ("compress = { target_ratio = 2 }", "routes.chat.compress", "target_ratio"),
        ('compress = { strategies = ["llm"] }', "routes.chat.compress", "needs a chat model"),
        (
            'compress = { protect_patterns = ["("] }',
            "routes.chat.compress.protect_patterns[0]",
            "regular expression",
        ),
        ('compress = "yes"', "routes.chat.compress", "expected a table"),
    ],
)
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, server: LocalOpenAIServer, compress: str, key: str, message: str
) -> None:
    path = _config(tmp_path, server, route_compress=compress)
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        load_router_kwargs(path)
    assert (raised.value.path, raised.value.key) == (str(path), key)
    assert str(path) in str(raised.value)


def _question(topic: str) -> str:
    """A long question without repeats or digits (so every compression is verified)."""
    items = ["boots", "sandals", "trainers", "slippers", "loafers", "clogs", "heels", "mules"]
    return " ".join(
        f"My {topic} question concerns the {item} from the {shop} shop, and whether "
        f"{person} may exchange them for another pair."
        for item in items
        for shop, person in (("north", "my sister"), ("south", "my brother"))
    )


def test_the_memo_of_a_configured_compressor_is_bounded_and_keeps_hot_prompts(
    tmp_path: Path, server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each compressed current turn is memoised: an unbounded in-process memo grows with
    every distinct question a long-running service is asked."""
    import langchain_costrouter.compression.config as compression_config

    monkeypatch.setattr(compression_config, "MEMO_ENTRIES", 2)
    router = RoutedChatModel.from_config(_config(tmp_path, server, route_compress=LLM_COMPRESS))
    for topic in ("refund", "delivery", "sizing", "refund"):
        router.invoke([SystemMessage(PROMPT), HumanMessage(_question(topic))], task="chat")

    compressor_calls = [r for r in server.requests if r.model == "gpt-4o-mini"]
    store = router.compressors["chat"].settings.memo.store
    assert len(store) == 2
    # the system prompt, used by every call, was compressed once; the first question,
    # pushed out by two newer ones, was compressed again when asked again
    assert len(compressor_calls) == 1 + 4
