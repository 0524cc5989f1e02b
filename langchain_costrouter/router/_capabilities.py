"""What a `RoutedChatModel` offers beside calls: tools, structured output, token counts.

Kept apart from the entry points (`_facade`), so that file reads as what a call does.
Tools and structured output are bound in OpenAI's format and each child re-binds them
in its own dialect (`_tools`, `_structured`); token counts are offline (tiktoken's
cl100k_base: exact counts come from each answer's usage).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from langchain_costrouter import tokens
from langchain_costrouter.router._settings import RouterSettings
from langchain_costrouter.router._structured import check_routes
from langchain_costrouter.router._tools import openai_tools, structured_runnable

if TYPE_CHECKING:  # what langchain-core's own bind returns (a typed RunnableBinding)
    from langchain_core.language_models.chat_models import _ChatModelBinding


class RouterCapabilities(RouterSettings):
    """Tools, structured output and token counting of `RoutedChatModel`; not used on its own."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in OpenAI format; each child re-binds them in its own dialect.

        ``strict=True`` (as ``ChatOpenAI.bind_tools`` takes it) goes into the tools.
        """
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=openai_tools(tools, kwargs.pop("strict", None)), **kwargs)

    def bind(self, **kwargs: Any) -> _ChatModelBinding:
        """Bind call kwargs; a ``response_format`` is checked against every child.

        Each child that is not OpenAI's is sent its own dialect of it (`_structured`);
        one that has none is refused here, naming the route and the child, rather
        than on the call that first reaches it.
        """
        if kwargs.get("response_format") is not None:
            check_routes(self.routes, kwargs["response_format"])
        return super().bind(**kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Structured output by tool calling, JSON mode or JSON schema, as asked
        (``strict`` too, in each of them).

        Raises:
            InvalidRequestError: ``method`` is not one of the three.
            StructuredOutputUnsupportedError: A child of the route table cannot answer
                by JSON mode or JSON schema, the method asked (see `bind`).
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        return structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict
        )

    def get_token_ids(self, text: str) -> list[int]:
        return tokens.encoding().encode(text, disallowed_special=())

    def get_num_tokens(self, text: str) -> int:
        return tokens.count_text(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        extra = sum(tokens.count_text(str(tool)) for tool in openai_tools(tools or []))
        return tokens.count_messages(messages) + extra
