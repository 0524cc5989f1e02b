"""A call's canonical parameters as the router's cache keys them (real ChatOpenAI, diskcache)."""

from __future__ import annotations

from pathlib import Path

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat


def test_a_stream_asking_for_its_usage_is_answered_by_the_cached_invoke(
    openai_server: LocalOpenAIServer, tmp_path: Path
) -> None:
    """docs/architecture.md, LangChain fact 6: ``stream_usage=True`` is how a ChatOpenAI
    on a base_url streams its usage; it made the stream a request of its own."""
    openai_server.script([Reply("Paris", prompt_tokens=12, completion_tokens=1)])
    child = openai_chat(openai_server, "gpt-4o-mini", stream_usage=False)
    router = RoutedChatModel(
        routes={"chat": [child]},
        default_task="chat",
        cache=f"diskcache://{tmp_path / 'cache'}",
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
    )
    invoked = router.invoke("Capital of France?")
    chunks = list(router.stream("Capital of France?", stream_usage=True))
    record = chunks[-1].response_metadata["costrouter"]
    assert (record["cache_hit"], "".join(str(c.content) for c in chunks)) == (True, "Paris")
    assert invoked.usage_metadata is not None
    assert chunks[-1].usage_metadata == {**invoked.usage_metadata, "total_cost": 0}
    assert openai_server.request_count() == 1
