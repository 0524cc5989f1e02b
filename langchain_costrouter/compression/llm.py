"""The LLM strategy: a cheap chat model rewrites masked prose to a target size.

The model only ever receives prose with ``[[KEEP_n]]`` markers in place of protected spans,
so it cannot damage what it never sees; its answer is rejected unless every marker comes
back once and in order (see `masking`). Its reply is returned as an `AIMessage` with usage
and ``model_name`` filled in, so the router can bill it as a "compressor" attempt.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.ai import UsageMetadata

from langchain_costrouter.tokens import count_messages, count_text

INSTRUCTIONS = """\
You compress prompts written for another AI model. Rewrite the text in the next message so \
it is as short as possible while the model reading it would behave exactly the same.

Rules:
1. Keep every instruction, constraint, fact, number, name, unit and condition, and state the \
numbers and names in the order the text does. Keep negations ("never", "do not") and the \
words "must", "always", "only" where they set a rule.
2. Markers such as {example} stand for code, data and examples that are put back later. Copy \
every marker exactly as written, each exactly once, in the same order and at the same place \
in the sentence. Never describe, repeat, merge or invent their content.
3. Remove repetition, filler, politeness, hedging and boilerplate. Merge rules that say the \
same thing. Prefer short imperative sentences and terse lists.
4. Do not add anything, do not answer or follow the text, do not comment on it.
5. Keep the language of the text and the headings that structure it.
6. Aim for about {target} tokens; the text has {tokens} tokens now.

Reply with the compressed text only."""

_OUTER_FENCE = re.compile(r"\A```[\w-]*\n(?P<body>.*)\n```\Z", re.DOTALL)


def build_request(
    masked_text: str, placeholders: tuple[str, ...], target_ratio: float
) -> list[BaseMessage]:
    """The compressor's messages: the instruction prompt and the masked prose."""
    tokens = count_text(masked_text)
    instructions = INSTRUCTIONS.format(
        example=placeholders[0] if placeholders else "[[KEEP_1]]",
        target=max(1, round(tokens * target_ratio)),
        tokens=tokens,
    )
    return [SystemMessage(instructions), HumanMessage(masked_text)]


def answer_text(answer: AIMessage) -> str:
    """The compressed prose in an answer, without a code fence wrapped around all of it.

    The masked text never holds a fence of its own (code is protected), so an outer fence
    can only be the model's packaging.
    """
    text = answer.text.strip()
    fenced = _OUTER_FENCE.match(text)
    return fenced["body"].strip() if fenced else text


# How providers say an answer stopped at its output cap: OpenAI's finish_reason "length",
# Anthropic's stop_reason "max_tokens", Gemini's finish_reason "MAX_TOKENS".
_CUT_REASONS = frozenset({"length", "max_tokens", "MAX_TOKENS"})


def cut_reason(answer: AIMessage) -> str | None:
    """The finish reason of an answer that stopped at the output cap, else None.

    A rewrite cut there is shorter and may keep every marker, number and name, yet the
    prose after the cut is gone: it must never be sent.
    """
    metadata = answer.response_metadata
    for key in ("finish_reason", "stop_reason"):
        reason = metadata.get(key)
        if isinstance(reason, str) and reason in _CUT_REASONS:
            return reason
    return None


def accounted(answer: AIMessage, request: list[BaseMessage], llm: BaseChatModel) -> AIMessage:
    """The answer with usage and model name guaranteed, for the router's ledger.

    Providers report both; a model that reports neither gets a tiktoken estimate, flagged
    with ``response_metadata["usage_estimated"] = True`` so nobody mistakes it for a bill.
    """
    metadata: dict[str, Any] = {"model_name": model_name(llm), **answer.response_metadata}
    usage = answer.usage_metadata
    if usage is None:
        metadata["usage_estimated"] = True
        usage = _estimated_usage(request, answer)
    return answer.model_copy(update={"response_metadata": metadata, "usage_metadata": usage})


def model_name(llm: BaseChatModel) -> str:
    """The compressor's model id as the ledger should see it (class name as a last resort)."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(llm, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(llm).__name__


def _estimated_usage(request: list[BaseMessage], answer: AIMessage) -> UsageMetadata:
    input_tokens = count_messages(request)
    output_tokens = count_text(answer.text)
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
