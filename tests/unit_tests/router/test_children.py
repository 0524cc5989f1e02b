"""The router's result of a child call: the child's own, handed on as a fresh one would be."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, LLMResult

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.router._children import chat_result, first_message


class _ProviderLikeChild(BaseChatModel):
    """Answers as ChatOpenAI does: provider fields in llm_output and generation_info."""

    model_name: str = "gpt-4o-mini"

    @property
    def _llm_type(self) -> str:
        return "provider-like"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        message = AIMessage(content="positive", response_metadata={"model_name": "gpt-4o-mini"})
        generation = ChatGeneration(message=message, generation_info={"finish_reason": "stop"})
        llm_output = {"token_usage": {"total_tokens": 9}, "system_fingerprint": "fp_1"}
        return ChatResult(generations=[generation], llm_output=llm_output)


class _Ends(BaseCallbackHandler):
    def __init__(self) -> None:
        self.results: list[LLMResult] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.results.append(response)


def _provider_result() -> ChatResult:
    return _ProviderLikeChild()._generate([])


def test_the_childs_result_is_handed_on_without_its_provider_fields() -> None:
    result = _provider_result()
    message = first_message(result)

    handed = chat_result(message, result)

    assert handed is result
    assert handed.llm_output is None
    assert handed.generations[0].generation_info is None
    assert handed.generations[0].text == "positive"
    # folded into the answer by first_message, except the usage LangChain reports itself
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["system_fingerprint"] == "fp_1"
    assert "token_usage" not in message.response_metadata


def test_another_answer_than_the_childs_gets_a_fresh_result() -> None:
    result = _provider_result()
    first_message(result)
    other = AIMessage(content="from the cache")

    handed = chat_result(other, result)

    assert handed is not result
    assert handed.generations[0].message is other
    assert handed.generations[0].text == "from the cache"
    assert result.llm_output is not None  # the child's result is left as it was


def test_no_child_result_gets_a_fresh_result() -> None:
    message = AIMessage(content="hit")

    handed = chat_result(message, None)

    assert handed.generations[0].message is message
    assert handed.llm_output is None


def test_a_routed_call_reports_one_clean_result_to_callbacks() -> None:
    router = RoutedChatModel(routes={"chat": [_ProviderLikeChild()]}, default_task="chat")
    ends = _Ends()

    answer = router.invoke("Classify: fine.", config={"callbacks": [ends]})

    assert answer.content == "positive"
    assert "token_usage" not in answer.response_metadata
    assert answer.response_metadata["finish_reason"] == "stop"
    assert answer.response_metadata["costrouter"]["served_by"] == "gpt-4o-mini"
    (end,) = ends.results
    assert not end.llm_output  # no second report of the child's usage to usage handlers
    (generation,) = end.generations[0]
    assert generation.message == answer
    assert generation.generation_info is None
