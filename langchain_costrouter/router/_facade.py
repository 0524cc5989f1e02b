"""`RoutedChatModel`: a LangChain chat model that sends each call to the cheapest fit model.

Every LangChain entry point (invoke, ainvoke, stream, astream, batch, and chains that
call them) reaches one of ``_generate``, ``_agenerate``, ``_stream``, ``_astream``. Each
does the same three things: settle the call (`_request.begin`), build its flow
(`_flow.serve`) and hand the flow to a driver, blocking or awaited. A stream
additionally closes with the chunk that carries usage, ``model_name`` and the record.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, PrivateAttr

from langchain_costrouter._sansio import Finished, acomplete, adrive, complete, drive
from langchain_costrouter.config import checked_router_kwargs, in_config_file, load_router_kwargs
from langchain_costrouter.errors import ConfigError, InvalidRequestError, RouterClosedError
from langchain_costrouter.router._children import (
    chat_result,
    content_chunk,
    final_chunk,
    router_metadata,
)
from langchain_costrouter.router._closing import closing_all, note_driver
from langchain_costrouter.router._flow import serve
from langchain_costrouter.router._input import unsendable
from langchain_costrouter.router._io import RouterIO
from langchain_costrouter.router._lifecycle import RouterLifecycle
from langchain_costrouter.router._parts import RouterParts, build_parts, rebuild_parts
from langchain_costrouter.router._request import (
    RunManager,
    begin,
    with_run_metadata,
    with_task,
)
from langchain_costrouter.router._signatures import Presigned, presigned
from langchain_costrouter.router._steps import Step
from langchain_costrouter.router._views import RouterViews
from langchain_costrouter.router_fields import config_errors, refuse_unknown_arguments
from langchain_costrouter.routes import normalise_routes, warn_about_child_retries


class RoutedChatModel(RouterLifecycle, RouterViews):
    """Route each call by task label to a table of chat models, cheapest tier first.

    Example:
        .. code-block:: python

            router = RoutedChatModel(
                routes={"classification": [cheap, strong], "chat": [mid]},
                default_task="chat",
            )
            router.invoke("Is this spam? ...", task="classification")
            router.close()  # or `with RoutedChatModel(...) as router:` (`_lifecycle`)
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, ignored_types=(Presigned,))
    # The fields, with what each means: `_settings.RouterSettings`; tools, structured
    # output and token counting: `_capabilities.RouterCapabilities`; repr, parameters
    # and stores: `_views.RouterViews`.

    _parts: RouterParts = PrivateAttr()
    _parts_owner: int = PrivateAttr(default=0)

    def __init__(self, **data: Any) -> None:
        """Check the arguments first, so a mistake is one `ConfigError` naming the key.

        Without ``routes``, the file named by ``COSTROUTER_CONFIG`` supplies them (and
        arguments given in code override the file's); its errors name the variable.
        """
        refuse_unknown_arguments(data, type(self).model_fields)
        with config_errors():  # pydantic wraps errors raised inside it; unwrap ours
            super().__init__(**checked_router_kwargs(data))

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self.routes = normalise_routes(self.routes)
        warn_about_child_retries(self.routes.values())
        self._parts = build_parts(self)
        self._parts_owner = id(self)

    @classmethod
    def from_config(cls, path: str | Path, **overrides: Any) -> RoutedChatModel:
        """Build a router from a TOML file of providers, models and routes."""
        try:
            return cls(**{**load_router_kwargs(Path(path)), **overrides})
        except ConfigError as error:  # e.g. a store the file names that cannot be opened
            raise in_config_file(error, Path(path), overrides) from None

    def _current(self) -> RouterParts:
        """This router's parts; a copy (``model_copy``) gets its own, sharing the stores."""
        # Read from the private dict directly: pydantic's __getattr__ path for private
        # attributes costs microseconds on every call.
        private = self.__pydantic_private__
        assert private is not None
        parts: RouterParts = private["_parts"]
        if private["_parts_owner"] != id(self):
            parts = private["_parts"] = rebuild_parts(parts, self)
            private["_parts_owner"] = id(self)
        return parts

    # -- task label: copied from config into the call, since stream() gets no run manager

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        return super().invoke(input, config, stop=stop, **with_task(config, kwargs))

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        return await super().ainvoke(input, config, stop=stop, **with_task(config, kwargs))

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        kwargs = with_run_metadata(config, kwargs, self.metadata)
        return super().stream(input, config, stop=stop, **kwargs)

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """LangChain's ``astream``; closing it settles a cut call at once (`_closing`)."""
        kwargs = with_run_metadata(config, kwargs, self.metadata)
        stream = super().astream(input, config, stop=stop, **kwargs)
        return closing_all(cast(AsyncGenerator[AIMessageChunk, None], stream))

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        """LangChain's conversion, with input it cannot convert named in a typed error."""
        try:
            return super()._convert_input(model_input)
        except (NotImplementedError, ValueError) as error:
            raise InvalidRequestError(unsendable(model_input, error)) from error

    # -- the request path: settle the call, build its flow, drive it

    @presigned
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        flow, io = self._begin(messages, stop, run_manager, kwargs, streaming=False)
        return chat_result(complete(drive(flow, io)), io.child_result)

    @presigned
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        flow, io = self._begin(messages, stop, run_manager, kwargs, streaming=False)
        return chat_result(await acomplete(adrive(flow, io)), io.child_result)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        flow, io = self._begin(messages, stop, run_manager, kwargs, streaming=True)
        message = yield from drive(flow, io)
        yield from _closing_chunks(message, io.streamed)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        flow, io = self._begin(messages, stop, run_manager, kwargs, streaming=True)
        driver = adrive(flow, io)
        note_driver(driver)  # closed as soon as `astream`'s caller closes its stream
        async for item in driver:
            if isinstance(item, Finished):
                for chunk in _closing_chunks(item.result, io.streamed):
                    yield chunk
            else:
                yield item

    def _begin(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: RunManager | None,
        kwargs: dict[str, Any],
        *,
        streaming: bool,
    ) -> tuple[Generator[Step, Any, AIMessage], RouterIO]:
        """The call's flow and the I/O that performs it."""
        parts = self._current()
        if parts.opened.closed:
            raise RouterClosedError()
        stages = parts.stages
        request = begin(parts.table, messages, stop, run_manager, kwargs)
        request.cache_key = stages.cache.key_for(request)
        request.trace = parts.telemetry.begin(request, streaming)
        io = RouterIO(request, stages.cache, stages.cascade.budgets.gate, streaming=streaming)
        return serve(request, stages), io


def _closing_chunks(message: AIMessage, streamed: bool) -> Iterator[ChatGenerationChunk]:
    """How a stream ends: the answer's body unless it streamed live, then its record.

    Usage, ``model_name`` and the costrouter record come once, on the last chunk; the
    child's own metadata (``finish_reason``, ...) too, unless its chunks carried it live.
    """
    if not streamed:
        yield content_chunk(message)
        yield final_chunk(message, message.response_metadata)
    else:
        yield final_chunk(message, router_metadata(message.response_metadata))
