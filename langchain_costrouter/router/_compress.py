"""The compression stage: a task's `PromptCompressor`, run inside the routed call's flow.

The compressor's own model calls are steps of the same flow, so they are driven, sync
or async, by the call's driver; each is billed as a "compressor" attempt of the call,
and the tokens it removed are priced once the serving model is known (`_record`).

A compressor whose model is a router too answers with its own record: its attempts
(every tier it tried, its judge's calls) become this call's compressor attempts, and
that router, when it writes to this call's ledger, leaves its answered call out of it
(`recorded_by_caller`), so the call is in the ledger once, under the task it served.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from contextlib import suppress
from contextvars import ContextVar
from typing import Any

from langchain_costrouter.budgets.counted import counting, stop_counting
from langchain_costrouter.compression import CompressionResult, PromptCompressor
from langchain_costrouter.compression.pipeline import CompressorCall
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.metadata import AttemptRecord, CallSink
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._steps import Charge
from langchain_costrouter.router_fields import EVERY_TASK


class Compressors:
    """Compressors by task label (``"*"`` for every task); empty: no compression."""

    __slots__ = ("by_task",)

    def __init__(self, by_task: Mapping[str, Any]) -> None:
        for task, compressor in by_task.items():
            if not isinstance(compressor, PromptCompressor):
                raise ConfigError(
                    f"expected a PromptCompressor, got {type(compressor).__name__}",
                    key=f"compressors.{task}",
                )
        self.by_task: dict[str, PromptCompressor] = dict(by_task)

    def for_request(self, request: Request) -> PromptCompressor | None:
        """The compressor of the call's task; none for a compressor's own call."""
        if not self.by_task or not request.compress:
            return None
        return self.by_task.get(request.task) or self.by_task.get(EVERY_TASK)


_CALLER_LEDGER: ContextVar[CallSink | None] = ContextVar("costrouter_compressing_for", default=None)
"""The ledger of the routed call whose compressor is calling its model, while it does."""


def recorded_by_caller(ledger: CallSink) -> bool:
    """Whether a router's answered call is a compressor's call that the routed call it
    compresses for records (as its compressor attempts) in the same ledger store."""
    caller = _CALLER_LEDGER.get()
    if caller is None:
        return False
    spool = getattr(caller, "spool_dir", None)  # a SQL ledger's: its database and tables
    return caller is ledger or (spool is not None and spool == getattr(ledger, "spool_dir", None))


def compress(
    request: Request,
    compressor: PromptCompressor,
    accountant: Accountant,
    budgets: Budgets,
    ledger: CallSink,
) -> Generator[CompressorCall | Charge, Any, None]:
    """Replace the request's messages with their compressed form, billing the compressor.

    A routed compressor's attempts are charged to this call's budgets except those its
    router settled on the same store already (`budgets.counted`): a dollar counts once.
    """
    started = time.time_ns()
    token = _CALLER_LEDGER.set(ledger)
    store = getattr(budgets.gate, "store", None)  # None: no budgets
    counted, counting_token = counting(store) if store is not None else (None, None)
    try:
        result: CompressionResult = yield from compressor.message_steps(
            request.messages,
            tools=request.kwargs.get("tools"),
            response_format=request.kwargs.get("response_format"),
        )
    finally:
        with suppress(ValueError):  # a generator closed from another context: not ours
            _CALLER_LEDGER.reset(token)
        if counting_token is not None:
            stop_counting(counting_token)
    request.replace_messages(list(result.messages))
    request.extra["compression_tokens_saved"] = max(0, result.tokens_saved)
    if request.trace is not None:
        request.trace.compressed(started, result)
    for answer in result.compressor_messages:
        found, routed = _compressor_attempts(accountant, answer, request)
        skip = frozenset(counted.budgets) if routed and counted is not None else frozenset()
        for attempt in found:
            request.attempts.append(attempt)
            if budgets.enabled:
                yield Charge("compressor", attempt.get("cost_usd") or 0.0, counted=skip)


def _compressor_attempts(
    accountant: Accountant, answer: Any, request: Request
) -> tuple[list[AttemptRecord], bool]:
    """The compressor's answer as attempts: a routed answer's own attempts (what that
    router paid, priced by its table), else the answer priced as one side call; and
    whether it was routed."""
    record = answer.response_metadata.get("costrouter")
    attempts = record.get("attempts") if isinstance(record, Mapping) else None
    routed = False
    if isinstance(attempts, list) and attempts:
        routed = True
        found = [AttemptRecord(**a) for a in attempts if isinstance(a, Mapping)]  # type: ignore[typeddict-item]
        for attempt in found:
            attempt.pop("avoided_cost_usd", None)  # a hit's saving is that router's
    else:
        found = [accountant.side_call(answer, request.messages, "compressor")]
    for attempt in found:
        attempt.update(
            {"tier": -1, "accepted": False, "reason": "compression", "role": "compressor"}
        )
    return found, routed
