"""`PromptCompressor`: the compression stage as an LCEL Runnable and as a router stage.

In a chain, ``prompt | PromptCompressor(cheap_model) | model`` passes the prompt through
with the same type it came in (string, `PromptValue`, or a list of messages). Inside the
router, `PromptCompressor.compress_messages` is the one call the stage makes: it returns the
new messages plus the token counts and the compressor's own answers to bill.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    MessageLikeRepresentation,
    convert_to_messages,
)
from langchain_core.prompt_values import ChatPromptValue, PromptValue, StringPromptValue
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.runnables.config import merge_configs, patch_config

from langchain_costrouter._sansio import acomplete, adrive, complete, drive
from langchain_costrouter.compression.memo import Memo, MemoBackend
from langchain_costrouter.compression.messages import as_messages, check_encodable
from langchain_costrouter.compression.pipeline import (
    STRATEGIES,
    CompressorCall,
    Settings,
    compress_text_steps,
)
from langchain_costrouter.compression.prefix import PrefixCachePolicy
from langchain_costrouter.compression.stage import (
    CompressionResult,
    compress_messages_steps,
    tool_identifiers,
)
from langchain_costrouter.errors import ConfigError

T = TypeVar("T")
_Plan = tuple[Generator[CompressorCall, AIMessage, Any], Callable[[Any], LanguageModelInput]]
COMPRESSOR_TAG = "costrouter:compressor"


class PromptCompressor(Runnable[LanguageModelInput, LanguageModelInput]):
    """Shrinks the free prose of prompts; code, data, schemas and examples stay byte-identical.

    Args:
        llm: The cheap chat model of the LLM strategy (any `BaseChatModel`, e.g. a route of
            the router). Without it only the deterministic strategy runs.
        strategies: Strategies in the order they run: ``"deterministic"`` (free rules) and
            ``"llm"``. Default: both when ``llm`` is given, else ``("deterministic",)``.
        target_ratio: Size of the LLM's rewrite relative to the prose it gets (0 < r < 1).
        min_tokens: Texts shorter than this are left exactly as they are, and the model is
            called only when the free prose (protected spans excluded) is at least this long.
        protect_patterns: Regexes whose matches are protected, besides the automatic
            detection and the ``<keep>...</keep>`` marker (removed from the output).
        cache: A key-value store (``get``/``set`` of strings, or a dict) that memoises each
            LLM compression by content hash: a static prompt is compressed once, and its
            compressed text stays byte-stable for provider prefix caches.
        prefix_cache: How the target model bills cached prefixes; when given, a leading
            system prompt is compressed only if that pays (see `prefix_compression_pays`).
    """

    def __init__(
        self,
        llm: BaseChatModel | None = None,
        *,
        strategies: Sequence[str] | None = None,
        target_ratio: float = 0.5,
        min_tokens: int = 200,
        protect_patterns: Sequence[str | re.Pattern[str]] = (),
        cache: MemoBackend | None = None,
        prefix_cache: PrefixCachePolicy | None = None,
    ) -> None:
        default = STRATEGIES if llm is not None else ("deterministic",)
        chosen = default if strategies is None else tuple(strategies)
        _validate(llm, chosen, target_ratio, min_tokens)
        self.llm = llm
        self.prefix_cache = prefix_cache
        self.settings = Settings(
            strategies=chosen,
            target_ratio=target_ratio,
            min_tokens=min_tokens,
            protect_patterns=tuple(re.compile(p) for p in protect_patterns),
            llm=llm,
            memo=Memo(cache) if cache is not None else None,
        )

    def compress_messages(
        self,
        messages: Sequence[MessageLikeRepresentation],
        *,
        tools: Sequence[Any] | None = None,
        response_format: Any = None,
        prefix_cache: PrefixCachePolicy | None = None,
        config: RunnableConfig | None = None,
    ) -> CompressionResult:
        """Compress a chat request; the router's compression stage.

        Args:
            messages: The request's messages (message-like values are converted).
            tools: The request's tools; never modified, their names are protected in prose.
            response_format: The structured-output schema; never modified, field names kept.
            prefix_cache: Billing of the target model's prefix cache (overrides the
                constructor's); None applies no prefix-cache rule.
            config: Runnable config for the compressor model's call (callbacks, tags).
        """
        steps = self.message_steps(messages, tools, response_format, prefix_cache)
        return self._drive(steps, config)

    async def acompress_messages(
        self,
        messages: Sequence[MessageLikeRepresentation],
        *,
        tools: Sequence[Any] | None = None,
        response_format: Any = None,
        prefix_cache: PrefixCachePolicy | None = None,
        config: RunnableConfig | None = None,
    ) -> CompressionResult:
        """Async twin of `compress_messages`."""
        steps = self.message_steps(messages, tools, response_format, prefix_cache)
        return await self._adrive(steps, config)

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> LanguageModelInput:
        """Compress a prompt; the output has the input's type."""
        return self._call_with_config(self._compress_value, input, config)

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> LanguageModelInput:
        """Async twin of `invoke`."""
        return await self._acall_with_config(self._acompress_value, input, config)

    def _compress_value(
        self, value: LanguageModelInput, run_manager: Any, config: RunnableConfig
    ) -> LanguageModelInput:
        steps, rebuild = self._plan(value)
        return rebuild(self._drive(steps, patch_config(config, callbacks=run_manager.get_child())))

    async def _acompress_value(
        self, value: LanguageModelInput, run_manager: Any, config: RunnableConfig
    ) -> LanguageModelInput:
        steps, rebuild = self._plan(value)
        child = patch_config(config, callbacks=run_manager.get_child())
        return rebuild(await self._adrive(steps, child))

    def _plan(self, value: LanguageModelInput) -> _Plan:
        """The steps for ``value`` and how to turn their result back into ``value``'s type."""
        if isinstance(value, str | StringPromptValue):
            check_encodable(value if isinstance(value, str) else value.text, "The prompt")
        if isinstance(value, str):
            return compress_text_steps(value, self.settings), lambda outcome: outcome.text
        if isinstance(value, StringPromptValue):
            text_steps = compress_text_steps(value.text, self.settings)
            return text_steps, lambda outcome: StringPromptValue(text=outcome.text)
        if isinstance(value, PromptValue):
            message_steps = self.message_steps(value.to_messages(), None, None, None)
            return message_steps, lambda result: ChatPromptValue(messages=result.messages)
        messages = as_messages(value)
        return self.message_steps(messages, None, None, None), lambda result: result.messages

    def message_steps(
        self,
        messages: Sequence[MessageLikeRepresentation],
        tools: Sequence[Any] | None = None,
        response_format: Any = None,
        prefix_cache: PrefixCachePolicy | None = None,
    ) -> Generator[CompressorCall, AIMessage, CompressionResult]:
        """`compress_messages` as a step flow, for a caller that drives its own steps.

        The router runs it inside a routed call's flow, so the compressor's calls are
        made by the same driver as the call itself.
        """
        return compress_messages_steps(
            convert_to_messages(messages),
            self.settings,
            identifiers=tool_identifiers(tools, response_format),
            prefix_cache=prefix_cache or self.prefix_cache,
        )

    def _drive(self, steps: Generator[CompressorCall, AIMessage, T], config: Any) -> T:
        """Run the steps, calling the compressor model synchronously when asked."""
        result: T = complete(drive(steps, CompressorIO(config)))
        return result

    async def _adrive(self, steps: Generator[CompressorCall, AIMessage, T], config: Any) -> T:
        """Run the steps, awaiting the compressor model when asked."""
        return await acomplete(adrive(steps, CompressorIO(config)))


class CompressorIO:
    """Performs a compression flow's steps: each is one call of the compressor model.

    The same performer serves the router, whose flow yields these calls among its own
    steps; a compressor failure is thrown back into the flow, which falls back to the
    uncompressed text (see `pipeline.compressor_failed`).
    """

    __slots__ = ("config",)

    def __init__(self, config: RunnableConfig | None) -> None:
        self.config = config

    def live(self, step: CompressorCall) -> bool:
        return False

    def perform(self, step: CompressorCall) -> AIMessage:
        return _as_ai_message(step.model.invoke(step.messages, _compressor_config(self.config)))

    async def aperform(self, step: CompressorCall) -> AIMessage:
        answer = await step.model.ainvoke(step.messages, _compressor_config(self.config))
        return _as_ai_message(answer)

    def stream(self, step: CompressorCall) -> Generator[Any, None, AIMessage]:
        raise NotImplementedError("compressor calls are never streamed")

    def astream(self, step: CompressorCall, result: list[Any]) -> AsyncGenerator[Any, None]:
        raise NotImplementedError("compressor calls are never streamed")

    def release(self) -> None:
        """A compression flow holds nothing."""

    async def arelease(self) -> None:
        """A compression flow holds nothing."""


def _as_ai_message(message: BaseMessage) -> AIMessage:
    return message if isinstance(message, AIMessage) else AIMessage(content=message.content)


def _compressor_config(config: RunnableConfig | None) -> RunnableConfig:
    """The caller's callbacks and metadata, tagged so handlers and the router see the role."""
    base = ensure_config(config)
    base.pop("run_id", None)
    base.pop("run_name", None)
    role: RunnableConfig = {
        "tags": [COMPRESSOR_TAG],
        "metadata": {"costrouter_role": "compressor"},
        "run_name": "PromptCompressor.llm",
    }
    return merge_configs(base, role)


def _validate(
    llm: BaseChatModel | None, strategies: tuple[str, ...], target_ratio: float, min_tokens: int
) -> None:
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown or not strategies:
        raise ConfigError(
            f"strategies must be a non-empty selection of {STRATEGIES}, got {strategies}"
        )
    if "llm" in strategies and llm is None:
        raise ConfigError(
            "the 'llm' strategy needs a chat model: pass llm=... or strategies=('deterministic',)"
        )
    if not 0 < target_ratio < 1:
        raise ConfigError(f"target_ratio must be between 0 and 1 (exclusive), got {target_ratio}")
    if min_tokens < 0:
        raise ConfigError(f"min_tokens must be 0 or more, got {min_tokens}")
