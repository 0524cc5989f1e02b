"""Compressing a chat request: the stage the router runs before routing.

It picks the compressible messages, compresses each text with `pipeline`, applies the
prefix-cache rule to the leading system messages, and totals the tokens. The request's
``tools`` and ``response_format`` are never modified; their names are protected wherever the
prose mentions them, so instructions like "call lookup_order with order_id" stay exact.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool

from langchain_costrouter.compression.masking import strip_keep_markers
from langchain_costrouter.compression.messages import (
    check_encodable,
    compressible_indices,
    is_cached_prefix,
    message_texts,
    with_texts,
)
from langchain_costrouter.compression.pipeline import (
    CompressorCall,
    Settings,
    TextOutcome,
    compress_text_steps,
)
from langchain_costrouter.compression.prefix import PrefixCachePolicy, prefix_compression_pays
from langchain_costrouter.tokens import count_messages, count_text


@dataclass(frozen=True)
class CompressionResult:
    """What the compression stage did to one request.

    Attributes:
        messages: The messages to send (uncompressible ones are the same objects).
        tokens_before: Estimated prompt tokens of the request as given (tiktoken).
        tokens_after: Estimated prompt tokens of ``messages``.
        compressor_messages: The compressor model's answers, each with ``usage_metadata`` and
            ``response_metadata["model_name"]``: bill each as a "compressor" attempt. Empty
            when nothing was sent to the model (memo hit, too small, deterministic only).
        fallback_reason: Why some text was left uncompressed (protected span damaged,
            compressor error, no saving, prefix-cache rule); None when nothing fell back.
    """

    messages: list[BaseMessage]
    tokens_before: int
    tokens_after: int
    compressor_messages: list[AIMessage] = field(default_factory=list)
    fallback_reason: str | None = None

    @property
    def tokens_saved(self) -> int:
        """Prompt tokens saved per request (negative never happens: see `pipeline`)."""
        return self.tokens_before - self.tokens_after


def compress_messages_steps(
    messages: Sequence[BaseMessage],
    settings: Settings,
    *,
    identifiers: Sequence[str] = (),
    prefix_cache: PrefixCachePolicy | None = None,
) -> Generator[CompressorCall, AIMessage, CompressionResult]:
    """Compress every compressible text of ``messages``; see `CompressionResult`."""
    result = list(messages)
    answers: list[AIMessage] = []
    reasons: list[str] = []
    indices = compressible_indices(messages)
    for index in indices:  # before any compressor call is paid for
        for text in message_texts(messages[index]):
            check_encodable(text, f"Message {index} ({messages[index].type})")
    for index in indices:
        texts: list[str] = []
        for text in message_texts(messages[index]):
            outcome = yield from compress_text_steps(text, settings, identifiers)
            answers += outcome.compressor_messages
            if prefix_cache is not None and is_cached_prefix(messages, index):
                outcome = _apply_prefix_rule(text, outcome, prefix_cache, _stable(settings))
            texts.append(outcome.text)
            if outcome.fallback_reason:
                reasons.append(f"message {index}: {outcome.fallback_reason}")
        result[index] = with_texts(messages[index], texts)
    return CompressionResult(
        messages=result,
        tokens_before=count_messages(messages),
        tokens_after=count_messages(result),
        compressor_messages=answers,
        fallback_reason="; ".join(reasons) or None,
    )


def tool_identifiers(tools: Sequence[Any] | None, response_format: Any = None) -> list[str]:
    """Names the prose must keep exact: tool names and code-like parameter/field names."""
    schemas = [_function_schema(tool) for tool in tools or ()]
    names = [schema["name"] for schema in schemas if isinstance(schema.get("name"), str)]
    parameters = [schema.get("parameters", {}) for schema in schemas]
    format_schema = _response_schema(response_format)
    fields = [name for schema in [*parameters, format_schema] for name in _property_names(schema)]
    return names + [name for name in fields if _looks_like_code(name)]


def _function_schema(tool: Any) -> dict[str, Any]:
    """A tool's function schema; a provider's built-in tool (``{"type": "web_search_preview"}``)
    has none, only its name or type, which the prose may mention all the same."""
    converted = convert_to_openai_tool(tool)
    function = converted.get("function")
    if isinstance(function, dict):
        return function
    return {"name": converted.get("name") or converted.get("type")}


def _apply_prefix_rule(
    text: str, outcome: TextOutcome, policy: PrefixCachePolicy, stable: bool
) -> TextOutcome:
    original, _ = strip_keep_markers(text)
    before, after = count_text(original), count_text(outcome.text)
    if outcome.text == original or prefix_compression_pays(
        before,
        after,
        input_price=policy.input_price,
        cached_input_price=policy.cached_input_price,
        cache_hit_rate=policy.cache_hit_rate,
        compressed_cache_hit_rate=None if stable else 0.0,
    ):
        return outcome
    reason = (
        f"prefix-cache rule: {before}->{after} tokens saves less than the provider cache "
        f"discount lost at a {policy.cache_hit_rate:.0%} hit rate"
    )
    return TextOutcome(original, reason, outcome.compressor_messages)


def _stable(settings: Settings) -> bool:
    """Whether the compressed text is byte-identical on every request (see `prefix`)."""
    return settings.memo is not None or "llm" not in settings.strategies


def _response_schema(response_format: Any) -> dict[str, Any]:
    if response_format is None:
        return {}
    if isinstance(response_format, dict):
        nested = response_format.get("json_schema", {})
        schema = nested.get("schema", response_format) if isinstance(nested, dict) else {}
        return schema if isinstance(schema, dict) else {}
    return convert_to_json_schema(response_format)


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict):
            yield from properties
        for value in schema.values():
            yield from _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _property_names(item)


def _looks_like_code(name: str) -> bool:
    """Plain words ("city") survive rewriting; ``order_id`` or ``maxItems`` must stay exact."""
    return "_" in name or any(c.isdigit() for c in name) or name[1:] != name[1:].lower()
