"""Provider calls of ``collect``: through the product's router, bounded, and patient with 429s.

Every call goes through `RoutedChatModel.ainvoke` with the model pinned (``model=``), so
it is priced by the same accountant, retried by the same policy (which honours
``Retry-After``) and recorded in the same ledger as production traffic, with the run
metadata ``costrouter_purpose = "eval"`` so eval spend is kept apart.

On top of that, ``collect`` is a bulk job that can outrun a provider's rate limit for
minutes, longer than one call's retries last. A call that still fails with a rate
limit pauses every call of the run (a shared cool-down, doubled each time) and is
tried again, up to ``max_tries`` times.

Every call carries an output cap (``max_tokens``, sent in the field the provider's
config names): it is what bounds a call's cost, so the run's ``--max-cost-usd`` can be
a guarantee rather than a hope. An answer the cap cut short says so (``cut``), and a
model that answered past the cap (a server that ignores it) is named in ``over_cap``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.errors import AllTiersFailedError, ConfigError
from langchain_costrouter.logprobs import LogprobSummary, message_logprobs
from langchain_costrouter.metadata import PURPOSE_KEY, Purpose

EVAL_PURPOSE: Purpose = "eval"


@dataclass(frozen=True)
class Answer:
    """One model's answer, priced by the router.

    ``logprobs`` summarises its token log-probabilities when the provider returned
    them (a model configured to ask for them, e.g. ``logprobs = true`` in its params).
    """

    model: str
    text: str
    cost_usd: Decimal
    input_tokens: int
    output_tokens: int
    logprobs: LogprobSummary | None = None
    cut: bool = False
    """The answer stopped at the output cap (finish reason ``length``): it may be partial."""


DEFAULT_MAX_OUTPUT_TOKENS = 4096


@dataclass(frozen=True)
class CallLimits:
    """How hard ``collect`` may push the providers."""

    concurrency: int = 4
    max_tries: int = 3
    cooldown_s: float = 2.0
    """First pause after a call failed on a rate limit; doubled on each further one."""
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    """The output cap of every call (``max_tokens``): what bounds a call's cost."""


class Caller:
    """Calls models through one router, at most ``concurrency`` at a time; counts the spend."""

    def __init__(self, router: BaseChatModel, task: str, limits: CallLimits) -> None:
        self.router = router
        self.task = task
        self.limits = limits
        self.spent = Decimal(0)
        self.calls = 0
        self.rate_limited = 0
        self.over_cap: list[str] = []
        """Models that answered past the output cap: their cost has no bound."""
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._paused_until = 0.0
        self._pause = limits.cooldown_s

    async def ask(self, model: str, messages: Sequence[BaseMessage]) -> Answer:
        """``model``'s answer to ``messages``; a rate limit is waited out, up to max_tries."""
        for attempt in range(1, self.limits.max_tries + 1):
            async with self._slots:
                await self._wait_out_pause()
                try:
                    return self._answer(model, await self._invoke(model, messages))
                except AllTiersFailedError as error:
                    self.spent += _attempts_cost(error.attempts)
                    if not _rate_limited(error) or attempt == self.limits.max_tries:
                        raise
                    self._pause_everyone()
        raise AssertionError("unreachable: the last try raises")  # pragma: no cover

    async def _invoke(self, model: str, messages: Sequence[BaseMessage]) -> AIMessage:
        config: Any = {
            "metadata": {"task": self.task, PURPOSE_KEY: EVAL_PURPOSE},
            "tags": ["costrouter:collect"],
        }
        self.calls += 1
        cap = self.limits.max_output_tokens
        return await self.router.ainvoke(list(messages), config, model=model, max_tokens=cap)

    def _answer(self, model: str, message: AIMessage) -> Answer:
        record = message.response_metadata.get("costrouter") or {}
        cost = record.get("cost_usd")
        if cost is None:
            raise ConfigError(f"the router has no price for {model!r}: give it one in the config")
        self.spent += Decimal(repr(cost))
        usage = message.usage_metadata
        output_tokens = usage["output_tokens"] if usage else 0
        if output_tokens > self.limits.max_output_tokens and model not in self.over_cap:
            self.over_cap.append(model)
        return Answer(
            model=model,
            text=message.text,
            cost_usd=Decimal(repr(cost)),
            input_tokens=usage["input_tokens"] if usage else 0,
            output_tokens=output_tokens,
            logprobs=message_logprobs(message),
            cut=message.response_metadata.get("finish_reason") == "length",
        )

    async def _wait_out_pause(self) -> None:
        delay = self._paused_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _pause_everyone(self) -> None:
        self.rate_limited += 1
        self._paused_until = max(self._paused_until, time.monotonic() + self._pause)
        self._pause *= 2


def _rate_limited(error: AllTiersFailedError) -> bool:
    return any(
        attempt.get("status_code") == 429 or attempt.get("reason") == "error: rate_limit"
        for attempt in error.attempts
    )


def _attempts_cost(attempts: Sequence[dict[str, Any]]) -> Decimal:
    """What failed attempts cost (a cut-off answer is billed), so the cap counts it."""
    return sum((Decimal(repr(a["cost_usd"])) for a in attempts if a.get("cost_usd")), Decimal(0))
