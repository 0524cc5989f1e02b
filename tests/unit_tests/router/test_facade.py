"""RoutedChatModel over in-process scripted children: labels in every path, metadata, tools."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel

from langchain_costrouter import RoutedChatModel, UnknownTaskError
from langchain_costrouter.ledger import InMemoryLedger
from langchain_costrouter.router._parts import store_label
from langchain_costrouter.testing.models import ScriptedChatModel


def _router(**kwargs: Any) -> RoutedChatModel:
    return RoutedChatModel(
        routes={
            "chat": [ScriptedChatModel(model="gpt-4o", answers=["from chat"])],
            "classification": [
                ScriptedChatModel(model="gpt-4o-mini", answers=["from classification"])
            ],
        },
        default_task="chat",
        **kwargs,
    )


def test_invoke_routes_by_kwarg_metadata_and_configurable() -> None:
    router = _router()
    assert router.invoke("hi").content == "from chat"
    assert router.invoke("hi", task="classification").content == "from classification"
    assert router.invoke("hi", config={"metadata": {"task": "classification"}}).content == (
        "from classification"
    )
    configured = router.with_config(configurable={"task": "classification"})
    assert configured.invoke("hi").content == "from classification"
    assert router.bind(task="classification").invoke("hi").content == "from classification"


async def test_async_paths_resolve_the_label() -> None:
    router = _router()
    config = {"metadata": {"task": "classification"}}
    assert (await router.ainvoke("hi", config=config)).content == "from classification"
    chunks = [c async for c in router.astream("hi", config=config)]
    assert "".join(str(c.content) for c in chunks) == "from classification"
    results = await router.abatch(["a", "b"], config=config)
    assert [r.content for r in results] == ["from classification"] * 2
    events = [e async for e in router.astream_events("hi", config=config, version="v2")]
    ends = [e for e in events if e["event"] == "on_chat_model_end"]
    assert ends[0]["data"]["output"].content == "from classification"


def test_stream_and_batch_resolve_the_label() -> None:
    router = _router()
    config = {"configurable": {"task": "classification"}}
    text = "".join(str(c.content) for c in router.stream("hi", config=config))
    assert text == "from classification"
    assert [m.content for m in router.batch(["a", "b"], config=config)] == [
        "from classification"
    ] * 2


def test_label_flows_through_an_lcel_chain() -> None:
    chain = (
        ChatPromptTemplate.from_messages([("human", "{q}")])
        | _router()
        | RunnableLambda(lambda m: m.content)
    )
    assert chain.invoke({"q": "x"}, config={"metadata": {"task": "classification"}}) == (
        "from classification"
    )
    streamed = "".join(chain.stream({"q": "x"}, config={"metadata": {"task": "classification"}}))
    assert streamed == "from classification"


def test_unknown_label_raises_listing_known_labels() -> None:
    with pytest.raises(UnknownTaskError, match="chat, classification"):
        _router().invoke("hi", task="translation")


def test_unknown_label_can_fall_back_to_default() -> None:
    assert _router(unknown_task="default").invoke("hi", task="nope").content == "from chat"


def test_response_metadata_contract() -> None:
    message = _router().invoke("hi", task="classification")
    record = message.response_metadata["costrouter"]
    assert message.response_metadata["model_name"] == "gpt-4o-mini"
    assert record["task"] == "classification"
    assert record["cache_hit"] is False
    assert record["escalated"] is False
    [attempt] = record["attempts"]
    assert attempt["model"] == "gpt-4o-mini" and attempt["accepted"] is True
    assert attempt["usage"] == message.usage_metadata
    assert record["cost_usd"] == attempt["cost_usd"] > 0
    # Reference model defaults to the priciest routed model (gpt-4o).
    assert record["baseline_cost_usd"] > record["cost_usd"]
    import json

    json.dumps(record)  # JSON-serialisable


def test_stream_carries_usage_and_model_name_on_exactly_one_chunk() -> None:
    chunks = list(_router().stream("hello there"))
    with_usage = [c for c in chunks if c.usage_metadata]
    with_name = [c for c in chunks if "model_name" in c.response_metadata]
    assert len(with_usage) == 1 and len(with_name) == 1
    assert sum(1 for c in chunks if c.chunk_position == "last") == 1


def test_usage_handler_counts_each_call_once() -> None:
    router = _router()
    handler = UsageMetadataCallbackHandler()
    first = router.invoke("one", config={"callbacks": [handler]})
    streamed = list(router.stream("two", config={"callbacks": [handler]}))
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | router
    third = chain.invoke({"q": "three"}, config={"callbacks": [handler]})
    usage = handler.usage_metadata["gpt-4o"]
    stream_usage = next(c.usage_metadata for c in streamed if c.usage_metadata)
    expected = (
        first.usage_metadata["input_tokens"]
        + stream_usage["input_tokens"]
        + third.usage_metadata["input_tokens"]
    )
    assert usage["input_tokens"] == expected


def test_identifying_params_are_stable_and_secret_free() -> None:
    first, second = _router()._identifying_params, _router()._identifying_params
    assert first == second
    assert "0x" not in repr(first)
    assert first["routes"]["classification"] == [["scripted/gpt-4o-mini"]]


def test_token_counting_is_offline() -> None:
    router = _router()
    assert router.get_num_tokens("hello world") == 2
    assert router.get_num_tokens_from_messages([AIMessage(content="hello world")]) > 2


class Answer(BaseModel):
    label: str


def test_structured_output_json_schema_uses_response_format() -> None:
    child = ScriptedChatModel(model="gpt-4o-mini", answers=['{"label": "spam"}'])
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat")
    seen: list[dict[str, Any]] = []
    original = child._generate

    def spy(messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(messages, stop=stop, **kwargs)

    object.__setattr__(child, "_generate", spy)
    assert router.with_structured_output(Answer, method="json_schema").invoke("x") == Answer(
        label="spam"
    )
    assert seen[0]["response_format"]["type"] == "json_schema"
    assert "tools" not in seen[0]
    json_mode = router.with_structured_output(Answer, method="json_mode")
    assert json_mode.invoke("x") == Answer(label="spam")
    assert seen[1]["response_format"] == {"type": "json_object"}


def test_ledger_true_uses_the_embedded_sqlite_default(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    router = _router(ledger=True)
    router.invoke("hi")
    router.ledger_store.close()
    [path] = list(tmp_path.rglob("*.sqlite3")) or list(tmp_path.rglob("*.db"))
    assert path.stat().st_mode & 0o077 == 0


def test_repr_is_short_and_hides_secrets() -> None:
    cheap, strong = ScriptedChatModel(model="mini"), ScriptedChatModel(model="big")
    router = RoutedChatModel(
        routes={"chat": [cheap, [strong, cheap]], "code": strong},
        default_task="chat",
        cache="memory://",
        ledger=InMemoryLedger(),
    )
    assert repr(router) == (
        "RoutedChatModel(routes={'chat': 'scripted/mini -> scripted/big | scripted/mini', "
        "'code': 'scripted/big'}, default_task='chat', namespace='default', "
        "cache='memory://', ledger='memory://')"
    )
    assert store_label("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert store_label("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert (
        store_label("redis://cache:6379/0?password=s3cret") == "redis://cache:6379/0?password=***"
    )
