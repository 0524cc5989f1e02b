"""RoutedChatModel over real ChatOpenAI children on the test server: usage counted once."""

from __future__ import annotations

from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer, Reply


def _router(server: LocalOpenAIServer) -> RoutedChatModel:
    child = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=server.base_url,
        api_key="test",
        max_retries=0,
        stream_usage=True,
        cache=False,
    )
    return RoutedChatModel(routes={"chat": [child]}, default_task="chat")


def test_usage_handler_counts_invoke_stream_and_chain_once(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script(
        [
            Reply("one", prompt_tokens=11, completion_tokens=3),
            Reply("two", prompt_tokens=13, completion_tokens=5),
            Reply("three", prompt_tokens=17, completion_tokens=7),
        ]
    )
    router = _router(openai_server)
    handler = UsageMetadataCallbackHandler()
    config = {"callbacks": [handler]}
    router.invoke("a", config=config)
    list(router.stream("b", config=config))
    (ChatPromptTemplate.from_messages([("human", "{q}")]) | router).invoke(
        {"q": "c"}, config=config
    )
    assert handler.usage_metadata["gpt-4o-mini"]["input_tokens"] == 11 + 13 + 17
    assert handler.usage_metadata["gpt-4o-mini"]["output_tokens"] == 3 + 5 + 7
    assert openai_server.request_count() == 3


async def test_astream_events_reports_one_model_run(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("streamed events")])
    router = _router(openai_server)
    events = [
        e
        async for e in router.astream_events(
            "hi", version="v2", config={"metadata": {"task": "chat"}}
        )
    ]
    starts = [e for e in events if e["event"] == "on_chat_model_start"]
    streams = "".join(
        str(e["data"]["chunk"].content) for e in events if e["event"] == "on_chat_model_stream"
    )
    assert len(starts) == 1 and streams == "streamed events"
