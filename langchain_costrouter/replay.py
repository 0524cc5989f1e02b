"""`ReplayChatModel`: a chat model that answers from recorded outcomes.

Calibration and `costrouter replay` run the real `RoutedChatModel` over an eval set
without calling any provider: each child is a `ReplayChatModel` that answers a recorded
prompt with what one recorded model said, with its recorded usage and cost. The figures
then come from the product's own path (cascade, checks, ledger), not from a side
simulation. A prompt that was never recorded is an error, because inventing an answer
would silently corrupt those figures.

Own traffic repeats prompts, and two records of one prompt hold different answers,
scores and costs. A replay therefore names the record it answers (the call kwarg
`RECORD_KWARG`, which the router hands to its children as it is); without it, a
prompt whose records disagree for this model is an `AmbiguousPromptError` rather than
one record's answer charged and scored as another's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr, SkipValidation

from langchain_costrouter.errors import CostRouterError
from langchain_costrouter.logprobs import SUMMARY_KEY
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.tokens import count_messages, count_text

RECORD_KWARG = "costrouter_record_id"
"""The call kwarg naming the record a replay answers: ``invoke(..., **{RECORD_KWARG: id})``."""


class UnrecordedPromptError(CostRouterError, KeyError):
    """A replayed model was asked a prompt that the outcomes file does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


class AmbiguousPromptError(UnrecordedPromptError):
    """Several records ask this prompt with different outcomes, and the call named none."""


def prompt_key(contents: Iterable[str]) -> str:
    """The lookup key of a prompt: a hash of its message contents, in order.

    Roles are left out on purpose: LangChain says ``human`` where the file says
    ``user``, and the contents alone already identify an eval question.
    """
    return hashlib.sha256(json.dumps(list(contents), ensure_ascii=False).encode()).hexdigest()


def record_key(record: OutcomeRecord) -> str:
    """`prompt_key` of a recorded question."""
    return prompt_key(message["content"] for message in record.messages)


class ReplayChatModel(BaseChatModel):
    """Answers recorded prompts with one recorded model's text, usage and cost.

    ``response_metadata`` carries ``model_name``, ``recorded_cost_usd`` (the file's
    cost, ``None`` when only tokens were recorded), ``recorded_score`` and
    ``record_id``, so a router can price the call and score the served answer.
    A call may name its record with the kwarg `RECORD_KWARG` (record ids are unique);
    that is how a replay of a file with repeated prompts answers each with its own.

    Example:
        .. code-block:: python

            records = read_outcomes("overruling.jsonl")
            cheap = ReplayChatModel(records=records, model_name="gpt-3.5-turbo")
            cheap.invoke(records[0].messages[-1]["content"])
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    records: SkipValidation[Sequence[OutcomeRecord]]
    """The recorded questions this model can answer."""
    model_name: str
    """Which recorded model of the file this replays."""

    _index: dict[str, OutcomeRecord] = PrivateAttr(default_factory=dict)
    _by_id: dict[str, OutcomeRecord] = PrivateAttr(default_factory=dict)
    _ambiguous: set[str] = PrivateAttr(default_factory=set)
    _digest: str = PrivateAttr(default="")

    def model_post_init(self, context: Any, /) -> None:
        """Index the records by prompt key and by id; fails early on an unknown model
        name or a repeated id (either would make the replayed answer a guess)."""
        for record in self.records:
            if self.model_name not in record.outcomes:
                raise KeyError(
                    f"Model {self.model_name!r} is not in record {record.id!r}; "
                    f"recorded models: {', '.join(sorted(record.outcomes))}"
                )
            if record.id in self._by_id:
                raise ValueError(f"record id {record.id!r} appears twice; ids must be unique")
            self._by_id[record.id] = record
            self._index_prompt(record)
        # A stable digest, not an object repr, so LangChain cache keys survive restarts.
        self._digest = hashlib.sha256("\n".join(sorted(self._index)).encode()).hexdigest()[:16]

    @property
    def _llm_type(self) -> str:
        return "costrouter-replay"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {"model_name": self.model_name, "records_digest": self._digest}

    def _index_prompt(self, record: OutcomeRecord) -> None:
        """Index by prompt; a prompt whose records disagree on this model is ambiguous."""
        key = record_key(record)
        first = self._index.setdefault(key, record)
        if first.outcomes[self.model_name] != record.outcomes[self.model_name]:
            self._ambiguous.add(key)

    def lookup(
        self, messages: Sequence[BaseMessage], record_id: str | None = None
    ) -> OutcomeRecord:
        """The record ``record_id`` (or, when None, the one whose prompt is ``messages``).

        Raises:
            UnrecordedPromptError: no such record, or its prompt is not ``messages``.
            AmbiguousPromptError: no id given, and records of this prompt disagree.
        """
        key = prompt_key(message.text for message in messages)
        if record_id is not None:
            record = self._by_id.get(record_id)
            if record is not None and record_key(record) == key:
                return record
            raise UnrecordedPromptError(
                f"Replay model {self.model_name!r} has no record {record_id!r} with the "
                f"prompt ending {_preview(messages)!r}; name a record of the outcomes "
                "file and pass its recorded messages unchanged."
            )
        if key in self._ambiguous:
            raise AmbiguousPromptError(
                f"Replay model {self.model_name!r} holds several records of the prompt "
                f"ending {_preview(messages)!r} with different answers; name the record "
                f"with the call kwarg {RECORD_KWARG}=<record id>."
            )
        record = self._index.get(key)
        if record is None:
            raise UnrecordedPromptError(
                f"Replay model {self.model_name!r} has no recorded answer for the prompt "
                f"ending {_preview(messages)!r} ({len(messages)} messages). Only prompts "
                "of the outcomes file can be replayed; pass the recorded messages unchanged."
            )
        return record

    def _answer(self, messages: list[BaseMessage], kwargs: Mapping[str, Any]) -> AIMessage:
        record = self.lookup(messages, kwargs.get(RECORD_KWARG))
        outcome = record.outcomes[self.model_name]
        metadata: dict[str, Any] = {
            "model_name": self.model_name,
            "recorded_cost_usd": outcome.cost_usd,
            "recorded_score": outcome.score,
            "record_id": record.id,
        }
        if outcome.logprobs is not None:
            metadata[SUMMARY_KEY] = outcome.logprobs.to_json()
        return AIMessage(
            content=outcome.text or "",
            usage_metadata=_usage(outcome, messages),
            response_metadata=metadata,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        chunk = _as_chunk(self._answer(messages, kwargs))
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        chunk = _as_chunk(self._answer(messages, kwargs))
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk


def _preview(messages: Sequence[BaseMessage]) -> str:
    """The end of the prompt, for an error message."""
    return messages[-1].text[:80] if messages else ""


def _usage(outcome: ModelOutcome, messages: Sequence[BaseMessage]) -> UsageMetadata:
    """Recorded token counts, or tiktoken estimates for the ones not recorded."""
    input_tokens = outcome.input_tokens
    if input_tokens is None:
        input_tokens = count_messages(messages)
    output_tokens = outcome.output_tokens
    if output_tokens is None:
        output_tokens = count_text(outcome.text or "")
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def _as_chunk(message: AIMessage) -> ChatGenerationChunk:
    """The whole answer as one chunk: text, usage and metadata exactly once."""
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=message.content,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
    )
