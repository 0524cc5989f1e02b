"""The compression stage: a task's `PromptCompressor`, run inside the routed call's flow.

The compressor's own model calls are steps of the same flow, so they are driven, sync
or async, by the call's driver; each is billed as a "compressor" attempt of the call,
and the tokens it removed are priced once the serving model is known (`_record`).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from langchain_costrouter.compression import CompressionResult, PromptCompressor
from langchain_costrouter.compression.pipeline import CompressorCall
from langchain_costrouter.errors import ConfigError
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


def compress(
    request: Request, compressor: PromptCompressor, accountant: Accountant, budgets: Budgets
) -> Generator[CompressorCall | Charge, Any, None]:
    """Replace the request's messages with their compressed form, billing the compressor."""
    result: CompressionResult = yield from compressor.message_steps(
        request.messages,
        tools=request.kwargs.get("tools"),
        response_format=request.kwargs.get("response_format"),
    )
    request.replace_messages(list(result.messages))
    request.extra["compression_tokens_saved"] = max(0, result.tokens_saved)
    for answer in result.compressor_messages:
        attempt = accountant.side_call(answer, request.messages, "compressor")
        attempt.update(
            {"tier": -1, "accepted": False, "reason": "compression", "role": "compressor"}
        )
        request.attempts.append(attempt)
        if budgets.enabled:
            yield Charge("compressor", attempt.get("cost_usd") or 0.0)
