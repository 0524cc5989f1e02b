"""The I/O of one routed call: how each step of its flow is performed, blocking or awaited.

Provider calls go to the child inline (`_children`); in a stream, an unchecked tier's
call is live: its chunks go straight to the caller while the router keeps a copy to
price and record. While a call is under way, `Request.in_flight` says so, so a call
cancelled meanwhile is still billed (`_record.Recorder.fail`). Every other step (cache,
flight, check, sleep, compressor, budget and rate limit) is performed by its entry in
`_performers.PERFORM`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, aclosing
from typing import Any

from langchain_core.messages import BaseMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_costrouter.budgets import Gate, Reservation
from langchain_costrouter.router._cache import CacheStage
from langchain_costrouter.router._child_streams import (
    aread_child,
    astream_child,
    merge_chunks,
    read_child,
    stream_child,
)
from langchain_costrouter.router._children import first_message, strip_router_keys
from langchain_costrouter.router._performers import PERFORM
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Called, CallModel, ReadCache, Step, WriteCache


class RouterIO:
    """Performs the steps of one routed call; ``streaming`` makes unchecked calls live."""

    __slots__ = (
        "aheld",
        "cache",
        "child_result",
        "gate",
        "held",
        "request",
        "streamed",
        "streaming",
    )

    def __init__(
        self, request: Request, cache: CacheStage, gate: Gate, *, streaming: bool = False
    ) -> None:
        self.request = request
        self.cache = cache
        self.gate = gate
        self.streaming = streaming
        self.streamed = False
        """Whether the served answer already reached the caller as live chunks."""
        self.child_result: ChatResult | None = None
        """The result of the last child call that answered (see `_children.chat_result`)."""
        self.held: list[AbstractContextManager[bool]] = []
        """The coalescing flights entered (the flow enters at most one), left by `release`."""
        self.aheld: list[AbstractAsyncContextManager[bool]] = []

    def live(self, step: Step) -> bool:
        return self.streaming and type(step) is CallModel and not step.checked

    # -- blocking

    def perform(self, step: Step) -> Any:
        if type(step) is CallModel:  # the common step, dispatched without the table
            return self._call(step)
        return PERFORM[type(step)][0](self, step)

    def _call(self, step: CallModel) -> Called:
        request = self.request
        received: list[BaseMessageChunk] = []  # filled by `read_child` if the child streams
        request.in_flight, request.delivered = step, received
        start = time.perf_counter()
        try:
            model = step.deployment.model
            result = read_child(model, request.messages, request.stop, request.kwargs, received)
            message = first_message(result)
        except Exception as error:  # the cascade classifies it; bugs are re-raised there
            return self._ended(_broken(received, False, error, start))
        except BaseException as error:  # interrupted: noted, then billed by the flow
            self._cut(error, start, received)
            raise
        self.child_result = result
        return self._ended(Called(message, None, _ms(start)))

    def stream(self, step: CallModel) -> Generator[ChatGenerationChunk, None, Called]:
        request = self.request
        received: list[BaseMessageChunk] = []  # filled by `stream_child`
        request.in_flight, request.delivered = step, received
        start = time.perf_counter()
        shown = False
        try:
            model = step.deployment.model
            messages, stop, kwargs = request.messages, request.stop, request.kwargs
            for chunk in stream_child(model, messages, stop, kwargs, received):
                shown = self.streamed = True
                yield strip_router_keys(chunk)
        except Exception as error:  # the cascade classifies it; bugs are re-raised there
            return self._ended(_broken(received, shown, error, start))
        except BaseException as error:  # the consumer stopped reading, or an interrupt
            self._cut(error, start, received, shown)
            raise
        return self._ended(Called(merge_chunks(received), None, _ms(start)))

    def release(self) -> None:
        """End the call: leave its coalescing flight, settle a budget it still holds."""
        if (budget := self._unsettled()) is not None:
            self.gate.settle(*budget)
        while self.held:
            self.held.pop().__exit__(None, None, None)

    # -- awaited

    async def aperform(self, step: Step) -> Any:
        if type(step) is CallModel:  # the common step, dispatched without the table
            return await self._acall(step)
        kind = type(step)
        if (kind is ReadCache or kind is WriteCache) and self.cache.inline:
            return PERFORM[kind][0](self, step)  # nothing to wait for: no coroutine
        return await PERFORM[kind][1](self, step)

    async def _acall(self, step: CallModel) -> Called:
        request = self.request
        received: list[BaseMessageChunk] = []  # filled by `aread_child` if the child streams
        request.in_flight, request.delivered = step, received
        start = time.perf_counter()
        try:
            model = step.deployment.model
            messages, stop, kwargs = request.messages, request.stop, request.kwargs
            result = await aread_child(model, messages, stop, kwargs, received)
            message = first_message(result)
        except Exception as error:  # the cascade classifies it; bugs are re-raised there
            return self._ended(_broken(received, False, error, start))
        except BaseException as error:  # cancelled: noted, then billed by the flow
            self._cut(error, start, received)
            raise
        self.child_result = result
        return self._ended(Called(message, None, _ms(start)))

    async def astream(
        self, step: CallModel, result: list[Any]
    ) -> AsyncGenerator[ChatGenerationChunk, None]:
        request = self.request
        received: list[BaseMessageChunk] = []  # filled by `astream_child`
        request.in_flight, request.delivered = step, received
        start = time.perf_counter()
        shown = False
        model = step.deployment.model
        chunks = astream_child(model, request.messages, request.stop, request.kwargs, received)
        try:
            async with aclosing(chunks):  # a cut stream stops the provider's at once
                async for chunk in chunks:
                    shown = self.streamed = True
                    yield strip_router_keys(chunk)
        except Exception as error:  # the cascade classifies it; bugs are re-raised there
            result.append(self._ended(_broken(received, shown, error, start)))
            return
        except BaseException as error:  # cancelled, or the consumer stopped reading
            self._cut(error, start, received, shown)
            raise
        result.append(self._ended(Called(merge_chunks(received), None, _ms(start))))

    async def arelease(self) -> None:
        if (budget := self._unsettled()) is not None:
            await self.gate.asettle(*budget)
        while self.aheld:
            await self.aheld.pop().__aexit__(None, None, None)

    def _unsettled(self) -> tuple[Reservation, float | None] | None:
        """The budget of an attempt that never ended (cancelled, or a bug), and its cost.

        The recorder has priced the cancelled attempt by then (the flow records a failure
        before the driver lets go); an attempt that raised a bug released nothing.
        """
        request = self.request
        if request.held is None:
            return None
        held, request.held = request.held, None
        last = request.attempts[-1] if request.attempts else {}
        cancelled = str(last.get("reason", "")).startswith("cancelled")
        return held, last.get("cost_usd") if cancelled else 0.0

    def _cut(
        self,
        error: BaseException,
        start: float,
        received: list[BaseMessageChunk] | None = None,
        shown: bool = False,
    ) -> None:
        """A provider call cut off (cancelled, a consumer that stopped reading a stream):
        its telemetry is noted like any attempt's. ``in_flight`` stays set, so the flow's
        `_record.Recorder.fail` bills what it received (the span's figures come from that)."""
        request = self.request
        if request.trace is not None:
            request.trace.attempt_ended(request, _broken(received or [], shown, error, start))

    def _ended(self, called: Called) -> Called:
        request = self.request
        if request.trace is not None:
            request.trace.attempt_ended(request, called)
        request.in_flight = None
        return called


def _broken(
    received: list[BaseMessageChunk], shown: bool, error: BaseException, start: float
) -> Called:
    """A stream that failed: after chunks reached the caller, they come back as partial;
    chunks it only opened with (held back, see `_child_streams._blank`, or read for a
    whole answer by `_child_streams.read_child`) as ``opened``.

    A provider that sent a chunk had taken the request (an HTTP error status comes
    before any), so the attempt is billed either way (`_attempts.failed_attempt`).
    """
    if not received:
        return Called(None, error, _ms(start))
    if shown:
        return Called(None, error, _ms(start), partial=merge_chunks(received))
    return Called(None, error, _ms(start), opened=merge_chunks(received))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
