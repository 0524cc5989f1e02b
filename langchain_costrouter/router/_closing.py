"""Async streams closed all the way down as their caller closes them.

LangChain's ``astream`` never closes the ``_astream`` generator it reads. When the
caller stops reading (``aclose()``, ``break`` in ``async with aclosing(...)``), the
router's driver was left to the event loop's finaliser, which closes it later in a task
of its own, and which ``asyncio.run`` cancels as it ends: the cut call was settled on
its budgets after ``aclose()`` returned, or never (its worst case held until the lease
ran out, its cost never counted). `closing_all` wraps LangChain's stream and closes the
drivers that `note_driver` saw opened while it read, once the stream itself is closed.

`ClosingAll` is an iterator object, not an async generator, so only its caller closes
it. A stream nobody closes (one inside a chain: LangChain closes no step's stream) is
left to the event loop, generator by generator, as LangChain's own are; as an async
generator, the loop also closed the wrapper, whose closing of the same generators then
ran into the loop's, which closes them all at once as ``asyncio.run`` ends
("aclose(): asynchronous generator is already running", logged as a loop error).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_OPENED: ContextVar[list[AsyncGenerator[Any, None]] | None] = ContextVar(
    "costrouter_opened_drivers", default=None
)
"""The drivers opened while `closing_all` reads its stream's next item."""


class ClosingAll(AsyncIterator[T], Generic[T]):
    """``stream``'s items; ``aclose()`` closes ``stream``, then the drivers it opened."""

    __slots__ = ("_closed", "_opened", "_stream")

    def __init__(self, stream: AsyncGenerator[T, None]) -> None:
        self._stream = stream
        self._opened: list[AsyncGenerator[Any, None]] = []
        self._closed = False

    async def __anext__(self) -> T:
        token = _OPENED.set(self._opened)  # set and reset within one step: one context
        try:
            return await anext(self._stream)
        finally:
            _OPENED.reset(token)

    async def aclose(self) -> None:
        """Close the stream, then the router's drivers it opened (once)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.aclose()
        finally:
            for driver in self._opened:
                await driver.aclose()


def closing_all(stream: AsyncGenerator[T, None]) -> ClosingAll[T]:
    """``stream`` wrapped so that closing it closes the drivers it opened too."""
    return ClosingAll(stream)


def note_driver(driver: AsyncGenerator[Any, None]) -> None:
    """``driver`` serves the stream `closing_all` is reading, if one is: close it with it."""
    if (opened := _OPENED.get()) is not None:
        opened.append(driver)
