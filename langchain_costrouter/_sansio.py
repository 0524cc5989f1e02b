"""The two drivers of every step flow in the package: one blocking, one awaited.

A flow is a generator that yields I/O steps and returns a result (the httpx
``auth_flow`` pattern). A routed call (`router._flow.serve`) and prompt compression
(`compression.pipeline`) are written that way, so this module sits below both. A
driver hands each step to a `StepIO`, which performs it, and sends the result back; an
exception raised while performing a step is thrown into the flow, so the flow can
record it (a cancelled call still reaches the ledger) before it propagates. A step the
I/O calls ``live`` streams: its chunks pass straight through the driver to the caller.

These are the only loops that drive a flow; every entry point (invoke, ainvoke, stream,
astream, batch, and the compressor runnable) uses one of them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import aclosing
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from langchain_core.outputs import ChatGenerationChunk

R = TypeVar("R")
Flow = Generator[Any, Any, R]


class StepIO(Protocol):
    """Performs the steps of one flow, blocking or awaited, and owns what they hold."""

    def live(self, step: Any) -> bool:
        """Whether ``step`` streams chunks to the caller (see `stream`)."""
        ...

    def perform(self, step: Any) -> Any:
        """Perform ``step`` with blocking I/O; return what the flow receives."""
        ...

    def stream(self, step: Any) -> Generator[ChatGenerationChunk, None, Any]:
        """Perform a live step, yielding its chunks; return what the flow receives."""
        ...

    async def aperform(self, step: Any) -> Any:
        """Perform ``step`` with awaited I/O."""
        ...

    def astream(self, step: Any, result: list[Any]) -> AsyncGenerator[ChatGenerationChunk, None]:
        """Async `stream`; what the flow receives is appended to ``result``."""
        ...

    def release(self) -> None:
        """Let go of what the flow's steps held (coalescing flights), blocking."""
        ...

    async def arelease(self) -> None:
        """Async `release`."""
        ...


class Finished(NamedTuple, Generic[R]):
    """The last item of `adrive`: the flow's result (async generators return nothing)."""

    result: R


class _Turns(Generic[R]):
    """A flow's side of a driver: the next step, given the last step's reply or error."""

    __slots__ = ("_error", "_flow", "_reply", "result")

    def __init__(self, flow: Flow[R]) -> None:
        self._flow = flow
        self._reply: Any = None
        self._error: BaseException | None = None
        self.result: R

    def next(self) -> Any:
        """The flow's next step, or `_END` once it has returned (its value in `result`)."""
        reply, error = self._reply, self._error
        self._reply = self._error = None
        try:
            return self._flow.send(reply) if error is None else self._flow.throw(error)
        except StopIteration as done:
            self.result = done.value
            return _END

    def reply(self, value: Any) -> None:
        self._reply = value

    def fail(self, error: BaseException) -> None:
        """Throw ``error`` into the flow at its next turn: it records it, then re-raises."""
        self._error = error


_END = object()


def drive(flow: Flow[R], io: StepIO) -> Generator[ChatGenerationChunk, None, R]:
    """Run ``flow`` with blocking I/O; yields live chunks, returns the flow's result."""
    turns = _Turns(flow)
    try:
        while (step := turns.next()) is not _END:
            try:
                turns.reply((yield from io.stream(step)) if io.live(step) else io.perform(step))
            except BaseException as raised:
                turns.fail(raised)
        return turns.result
    finally:
        io.release()


async def adrive(
    flow: Flow[R], io: StepIO
) -> AsyncGenerator[ChatGenerationChunk | Finished[R], None]:
    """Run ``flow`` with awaited I/O; yields live chunks, then `Finished` with the result.

    What the flow held is let go of before `Finished` is yielded, as `drive` does before
    it returns: the caller may read no further than the result (a stream's closing
    chunk), and an identical call waiting for this one's coalescing flight must not wait
    for that caller (it waited up to the flight's lock timeout).
    """
    turns = _Turns(flow)
    try:
        while (step := turns.next()) is not _END:
            try:
                if not io.live(step):
                    turns.reply(await io.aperform(step))
                    continue
                result: list[Any] = []
                # Closed here, not left to the event loop's finaliser: a consumer that
                # stops reading must reach the step (it notes the cut attempt) before the
                # flow records the call; ``async for`` closes nothing it leaves.
                async with aclosing(io.astream(step, result)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                turns.reply(result[0])
            except BaseException as raised:
                turns.fail(raised)
    finally:
        await io.arelease()
    yield Finished(turns.result)


def complete(driver: Iterator[ChatGenerationChunk]) -> Any:
    """The result of a driver that streams nothing (invoke, batch)."""
    try:
        while True:
            next(driver)
    except StopIteration as done:
        return done.value


async def acomplete(driver: AsyncGenerator[ChatGenerationChunk | Finished[R], None]) -> R:
    """The result of an async driver that streams nothing (ainvoke, abatch).

    The driver is closed here, once it has yielded the result (the flow's release ran
    before that). An async generator left suspended is closed by the event loop
    instead, in a task of its own scheduled through the loop's self-pipe: a task, two
    system calls and a loop turn on every call (seen in a profile of ``ainvoke``).
    """
    try:
        async for item in driver:
            if isinstance(item, Finished):
                result: R = item.result
                return result
    finally:
        await driver.aclose()
    raise RuntimeError("the flow ended without a result")  # pragma: no cover - adrive's contract
