"""In-process chat models for tests and notebooks: scripted answers and scripted failures.

`ScriptedChatModel` answers from a list (or a function of the prompt) with realistic
usage metadata, tool calls and native streaming, so a router can be exercised without
a provider. Unlike langchain-core's `GenericFakeChatModel` it supports tools and keeps
usage when streaming, and it takes structured output as `ChatOpenAI` does (JSON mode and
JSON schema bound as ``response_format``), so it can stand in for an OpenAI child of a
router in every method.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, PrivateAttr

from langchain_costrouter.router._children import tool_call_chunks
from langchain_costrouter.router._tools import structured_runnable
from langchain_costrouter.tokens import count_messages, count_text

Answer = str | AIMessage | BaseException
Responder = Callable[[list[BaseMessage]], Answer]


class ScriptedChatModel(BaseChatModel):
    """Answers in order from ``answers`` (cycling), or from ``responder(messages)``.

    An answer that is an exception is raised instead, which scripts provider faults.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = "scripted"
    answers: list[Any] = Field(default_factory=lambda: ["ok"])
    responder: Responder | None = None
    provider: str = "scripted"
    calls: int = 0
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    seen: list[list[BaseMessage]] = Field(default_factory=list, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = self.provider
        params["ls_model_name"] = self.model
        return params

    def _next_answer(self, messages: list[BaseMessage]) -> AIMessage:
        with self._lock:
            index = self.calls
            self.calls += 1
            self.seen.append(list(messages))
        answer = (
            self.responder(messages) if self.responder else self.answers[index % len(self.answers)]
        )
        if isinstance(answer, BaseException):
            raise answer
        message = (
            answer.model_copy(deep=True)
            if isinstance(answer, AIMessage)
            else AIMessage(content=answer)
        )
        if message.usage_metadata is None:
            message.usage_metadata = _usage(messages, message)
        message.response_metadata = {"model_name": self.model, **message.response_metadata}
        return message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next_answer(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._next_answer(messages)
        words = message.text.split(" ") if message.text else [""]
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
                tool_call_chunks=tool_call_chunks(message.tool_calls),
                chunk_position="last",
            )
        )

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=list(tools), tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Structured output in OpenAI's dialect: tools, or ``response_format`` for JSON
        mode and JSON schema (langchain-core's default would make every method a tool)."""
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        return structured_runnable(
            self, schema or {}, method=method, include_raw=include_raw, strict=strict
        )


def _usage(messages: list[BaseMessage], message: AIMessage) -> UsageMetadata:
    input_tokens = count_messages(messages)
    output_tokens = max(1, count_text(message.text))
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
