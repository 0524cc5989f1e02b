"""The router's cache stage: one lookup and one entry per call, correct keys, stream replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.cache import CostRouterLLMCache, open_cache
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.testing import ScriptedChatModel


def _router(
    cache: Any = "memory://", child: ScriptedChatModel | None = None, **kwargs: Any
) -> tuple[RoutedChatModel, ScriptedChatModel]:
    child = child or ScriptedChatModel(model="gpt-4o-mini", answers=["first", "second", "third"])
    router = RoutedChatModel(
        routes={"chat": [child], "other": [child]},
        default_task="chat",
        cache=cache,
        ledger="memory://",
        **kwargs,
    )
    return router, child


def test_second_identical_call_is_a_hit_with_zero_cost_and_avoided_cost() -> None:
    router, child = _router()
    first = router.invoke("hello")
    second = router.invoke("hello")
    assert child.calls == 1 and second.content == first.content == "first"
    record = second.response_metadata["costrouter"]
    assert record["cache_hit"] is True and record["cost_usd"] == 0.0
    [attempt] = record["attempts"]
    assert attempt["avoided_cost_usd"] == first.response_metadata["costrouter"]["cost_usd"]
    assert second.usage_metadata["total_cost"] == 0  # langchain-core's cache convention
    assert second.usage_metadata["input_tokens"] == first.usage_metadata["input_tokens"]
    rows = router.ledger_store.rows()
    assert [r.cache_hit for r in rows] == [False, True]


def test_core_cache_path_is_off_for_a_router_owned_cache() -> None:
    set_llm_cache(InMemoryCache())
    try:
        router, child = _router()
        assert router.cache is False and router.cache_store is not None
        router.invoke("hello")
        router.invoke("hello")
        assert child.calls == 1
    finally:
        set_llm_cache(None)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"temperature": 0.0}, {"temperature": 0.7}),
        ({"task": "chat"}, {"task": "other"}),
        ({"stop": ["x"]}, {"stop": ["y"]}),
        ({"response_format": {"type": "json_object"}}, {}),
    ],
    ids=["temperature", "task", "stop", "response-format"],
)
def test_anything_that_shapes_the_answer_changes_the_key(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    router, child = _router()
    router.invoke("hello", **first)
    router.invoke("hello", **second)
    assert child.calls == 2


def test_system_prompt_tools_and_namespace_are_in_the_key() -> None:
    router, child = _router()
    router.invoke([SystemMessage("be terse"), HumanMessage("hi")])
    router.invoke([SystemMessage("be verbose"), HumanMessage("hi")])
    assert child.calls == 2

    def lookup(q: str) -> str:
        """Look up q."""
        return q

    def search(q: str) -> str:
        """Search q."""
        return q

    router.bind_tools([lookup]).invoke("hi")
    router.bind_tools([search]).invoke("hi")
    assert child.calls == 4
    tenant_b = router.model_copy(update={"namespace": "tenant-b"})
    tenant_b.invoke("hi")
    assert child.calls == 5


class Verdict(BaseModel):
    label: str
    confidence: float


def test_structured_output_and_tool_calls_round_trip_exactly() -> None:
    call = AIMessage(
        content="", tool_calls=[{"name": "lookup", "args": {"q": "x", "n": 2}, "id": "call_1"}]
    )
    child = ScriptedChatModel(
        model="gpt-4o-mini", answers=[call, '{"label": "spam", "confidence": 0.9}']
    )
    router, _ = _router(child=child)

    def lookup(q: str, n: int) -> str:
        """Look up."""
        return q

    bound = router.bind_tools([lookup])
    assert bound.invoke("q").tool_calls == bound.invoke("q").tool_calls == call.tool_calls
    structured = router.with_structured_output(Verdict, method="json_mode")
    assert structured.invoke("v") == structured.invoke("v") == Verdict(label="spam", confidence=0.9)
    assert child.calls == 2


def test_stream_hit_replays_as_a_stream_and_miss_is_stored_when_complete() -> None:
    router, child = _router()
    streamed = list(router.stream("hello stream"))
    replayed = list(router.stream("hello stream"))
    assert child.calls == 1
    assert "".join(str(c.content) for c in replayed) == "".join(str(c.content) for c in streamed)
    assert replayed[-1].response_metadata["costrouter"]["cache_hit"] is True
    assert sum(1 for c in replayed if c.usage_metadata) == 1


async def test_async_paths_share_the_cache() -> None:
    router, child = _router()
    await router.ainvoke("async hello")
    router.invoke("async hello")
    chunks = [c async for c in router.astream("async hello")]
    assert child.calls == 1 and chunks[-1].response_metadata["costrouter"]["cache_hit"]


def test_best_effort_answers_are_not_cached() -> None:
    from langchain_costrouter import Tier
    from langchain_costrouter.checks import LabelSet

    child = ScriptedChatModel(model="gpt-4o-mini", answers=["Maybe"])
    router = RoutedChatModel(
        routes={"c": [Tier.of(child, check=LabelSet(["Yes", "No"]))]},
        default_task="c",
        cache="memory://",
    )
    router.invoke("q")
    router.invoke("q")
    assert child.calls == 2


def test_corrupt_diskcache_is_a_miss_not_an_error(tmp_path: Path) -> None:
    router, _ = _router(cache=f"diskcache://{tmp_path}/cache")
    router.invoke("hello")
    router.cache_store.close()  # the answer is committed, the database closed
    for path in (tmp_path / "cache").glob("*.db"):
        path.write_bytes(b"this is not a sqlite database" * 100)
    fresh, fresh_child = _router(cache=f"diskcache://{tmp_path}/cache")
    with pytest.warns(BackendUnavailableWarning):
        message = fresh.invoke("hello")
    assert message.content == "first" and fresh_child.calls == 1


@pytest.mark.parametrize(
    "tampered",
    [
        {"attempts": 5, "cost_usd": 0.1},  # once a TypeError out of invoke
        {"cost_usd": 1e9, "baseline_cost_usd": 2e9},  # once a billion dollars avoided
    ],
)
def test_a_tampered_record_in_a_shared_cache_is_a_warned_miss(
    tmp_path: Path, tampered: Any
) -> None:
    router, child = _router(cache=f"diskcache://{tmp_path}/cache")
    router.invoke("hello")
    backend = router.cache_store.backend
    backend.flush()
    [key] = list(backend._store.cache().iterkeys())
    document = json.loads(backend.get(key))
    document["data"]["response_metadata"]["costrouter"] = tampered
    backend.set(key, json.dumps(document).encode(), None)
    with pytest.warns(BackendUnavailableWarning, match="costrouter record is unusable"):
        message = router.invoke("hello")
    assert message.response_metadata["costrouter"]["cache_hit"] is False and child.calls == 2
    hit = router.invoke("hello")
    record = hit.response_metadata["costrouter"]  # the entry holds the new answer now
    assert record["cache_hit"] is True and record["attempts"][0]["avoided_cost_usd"] < 0.01


@pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.UnknownPriceWarning")
def test_a_hit_of_an_answer_whose_usage_was_counted_says_so() -> None:
    child = GenericFakeChatModel(messages=iter([AIMessage("an answer with no usage")]))
    router = RoutedChatModel(routes={"chat": [child]}, cache="memory://", ledger="memory://")
    answered = router.invoke("q").response_metadata["costrouter"]["attempts"][0]
    hit = router.invoke("q").response_metadata["costrouter"]["attempts"][0]
    assert answered["usage_estimated"] is True  # the provider reported none: counted
    assert (hit["provider"], hit["usage"]) == ("cache", answered["usage"])
    assert hit.get("usage_estimated") is True


def test_diskcache_files_are_private(tmp_path: Path) -> None:
    router, _ = _router(cache=f"diskcache://{tmp_path}/private")
    router.invoke("hello")
    directory = tmp_path / "private"
    assert directory.stat().st_mode & 0o077 == 0
    assert all(p.stat().st_mode & 0o077 == 0 for p in directory.iterdir() if p.is_file())


def test_backends_serve_models_outside_the_router_as_a_langchain_cache() -> None:
    child = ScriptedChatModel(model="gpt-4o-mini", answers=["one", "two"])
    set_llm_cache(CostRouterLLMCache.from_url("memory://"))
    try:
        assert child.invoke("x").content == child.invoke("x").content == "one"
    finally:
        set_llm_cache(None)
    assert child.calls == 1


def test_cache_values_are_json_not_pickle(tmp_path: Path) -> None:
    cache = open_cache("memory://")
    router, _ = _router(cache=cache)
    router.invoke("hello")
    backend = cache.backend
    raw = [backend.get(key) for key in list(backend._entries)]  # type: ignore[attr-defined]
    assert raw and all(json.loads(value) for value in raw if value is not None)


def test_a_call_argument_without_a_json_form_skips_the_cache_with_a_warning() -> None:
    router, child = _router()

    class Opaque:
        pass

    with pytest.warns(BackendUnavailableWarning, match="not cached"):
        router.invoke("hello", extra_object=Opaque())
    with pytest.warns(BackendUnavailableWarning):
        router.invoke("hello", extra_object=Opaque())
    assert child.calls == 2


class _Unidentified(ScriptedChatModel):
    @property
    def _identifying_params(self) -> dict[str, Any]:
        raise RuntimeError("this model cannot tell its parameters")


def test_a_model_that_cannot_tell_its_parameters_is_keyed_by_its_label() -> None:
    router, child = _router(child=_Unidentified(model="gpt-4o-mini", answers=["only"]))
    assert router.invoke("hello").content == router.invoke("hello").content == "only"
    assert child.calls == 1
