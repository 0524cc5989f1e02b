"""What one routed call tells its telemetry while it runs: plain values, no spans yet.

Spans and metrics are made once the call's record exists (`report`), because usage,
cost, check score and savings are only known then. While the call runs, the request
path only notes *when* things happened: each provider attempt's end (from which its
start follows, by its latency) and the compression stage's interval. These notes cost
a tuple each; a router without telemetry makes none (``Request.trace`` stays None).

The request path's objects are read through the protocols below, so this package
never imports the router (the router imports it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.metadata import AttemptRecord, CostRouterMetadata
from langchain_costrouter.routes import Deployment

if TYPE_CHECKING:
    from langchain_costrouter.compression.stage import CompressionResult


class ProviderCall(Protocol):
    """The provider call in flight (the router's ``CallModel`` step)."""

    @property
    def deployment(self) -> Deployment: ...
    @property
    def tier(self) -> int: ...
    @property
    def checked(self) -> bool: ...


class CallResult(Protocol):
    """What a provider call returned (the router's ``Called``)."""

    @property
    def message(self) -> AIMessage | None: ...
    @property
    def error(self) -> BaseException | None: ...
    @property
    def latency_ms(self) -> float: ...


class CallState(Protocol):
    """The routed call as the request path holds it (the router's ``Request``)."""

    @property
    def in_flight(self) -> ProviderCall | None: ...
    @property
    def attempts(self) -> Sequence[Any]: ...
    @property
    def messages(self) -> list[BaseMessage]: ...


@dataclass(slots=True)
class AttemptNote:
    """One provider attempt as it happened; its record is ``attempts[index]``.

    Not frozen: a frozen dataclass sets each of its fields through
    ``object.__setattr__``, which the request path would pay on every attempt."""

    index: int
    deployment: Deployment
    tier: int
    streamed: bool
    start_ns: int
    end_ns: int
    response_model: str | None
    error: BaseException | None
    prompt: list[BaseMessage] | None
    """The messages sent, kept only when prompt and answer text go on spans."""
    answer: AIMessage | None

    def record_in(self, attempts: Sequence[AttemptRecord]) -> AttemptRecord:
        """This attempt's record: the one the cascade appended right after the call
        returned (empty when the cascade re-raised the error as a bug: no record)."""
        if self.index < len(attempts):
            attempt = attempts[self.index]
            if attempt.get("model") == self.deployment.model_id:
                return attempt
        return AttemptRecord()


@dataclass(frozen=True, slots=True)
class CompressionNote:
    start_ns: int
    end_ns: int
    tokens_before: int
    tokens_after: int
    fallback_reason: str | None


class CallTrace:
    """The notes of one routed call, from its start to its record."""

    __slots__ = (
        "attempts",
        "cacheable",
        "compression",
        "content",
        "max_tokens",
        "parent",
        "report",
        "start_ns",
        "streaming",
        "task",
    )

    def __init__(
        self,
        task: str,
        *,
        streaming: bool,
        cacheable: bool,
        max_tokens: int | None,
        parent: Any,
        content: bool,
        report: Callable[[CallTrace, CostRouterMetadata], None],
    ) -> None:
        self.task = task
        self.streaming = streaming
        self.cacheable = cacheable
        self.max_tokens = max_tokens
        """The call's own output cap; a deployment's own cap applies when it has none."""
        self.parent = parent
        """The OpenTelemetry context the call began in: its span's parent."""
        self.start_ns = time.time_ns()
        self.attempts: list[AttemptNote] = []
        self.compression: CompressionNote | None = None
        self.content = content
        """Whether prompt and answer text go on the spans (the user opted in)."""
        self.report = report
        """Where the call goes once its record exists (`Telemetry.report`)."""

    def ended(self, record: CostRouterMetadata) -> None:
        """The call's record is written: report the call from it."""
        self.report(self, record)

    def attempt_ended(self, call: CallState, result: CallResult) -> None:
        """A provider call returned (an answer or an error); its record comes next."""
        step = call.in_flight
        if step is None:  # pragma: no cover - the request path sets it before calling
            return
        end = time.time_ns()
        message = result.message
        content = self.content
        self.attempts.append(
            AttemptNote(
                index=len(call.attempts),
                deployment=step.deployment,
                tier=step.tier,
                streamed=self.streaming and not step.checked,
                start_ns=end - int(result.latency_ms * 1_000_000),
                end_ns=end,
                response_model=_response_model(message),
                error=result.error,
                prompt=list(call.messages) if content else None,
                answer=message if content else None,
            )
        )

    def compressed(self, start_ns: int, result: CompressionResult) -> None:
        """The compression stage ran from ``start_ns`` until now."""
        self.compression = CompressionNote(
            start_ns,
            time.time_ns(),
            result.tokens_before,
            result.tokens_after,
            result.fallback_reason,
        )


def _response_model(message: AIMessage | None) -> str | None:
    if message is None:
        return None
    name = message.response_metadata.get("model_name") or message.response_metadata.get("model")
    return name if isinstance(name, str) and name else None
