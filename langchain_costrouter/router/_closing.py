"""Async streams closed all the way down as their caller closes them.

LangChain's ``astream`` never closes the ``_astream`` generator it reads. When the
caller stops reading (``aclose()``, ``break`` in ``async with aclosing(...)``), the
router's driver was left to the event loop's finaliser, which closes it later in a task
of its own, and which ``asyncio.run`` cancels as it ends: the cut call was settled on
its budgets after ``aclose()`` returned, or never (its worst case held until the lease
ran out, its cost never counted). `closing_all` wraps LangChain's stream and closes the
drivers that `note_driver` saw opened while it read, once the stream itself is closed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_OPENED: ContextVar[list[AsyncGenerator[Any, None]] | None] = ContextVar(
    "costrouter_opened_drivers", default=None
)
"""The drivers opened while `closing_all` reads its stream's next item."""


async def closing_all(stream: AsyncGenerator[T, None]) -> AsyncIterator[T]:
    """``stream``'s items; closing this closes ``stream``, then the drivers it opened."""
    opened: list[AsyncGenerator[Any, None]] = []
    try:
        while True:
            token = _OPENED.set(opened)  # set and reset within one step: one context
            try:
                item = await anext(stream)
            except StopAsyncIteration:
                return
            finally:
                _OPENED.reset(token)
            yield item
    finally:
        await stream.aclose()
        for driver in opened:
            await driver.aclose()


def note_driver(driver: AsyncGenerator[Any, None]) -> None:
    """``driver`` serves the stream `closing_all` is reading, if one is: close it with it."""
    if (opened := _OPENED.get()) is not None:
        opened.append(driver)
