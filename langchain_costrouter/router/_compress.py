"""The compression stage: a task's `PromptCompressor`, run inside the routed call's flow.

The compressor's own model calls are steps of the same flow, so they are driven, sync
or async, by the call's driver; each is billed as a "compressor" attempt of the call,
and the tokens it removed are priced once the serving model is known (`_record`).

A compressor whose model is a router too answers with its own record: its attempts
(every tier it tried, its judge's calls) become this call's compressor attempts, and
that router, when it writes to this call's ledger, leaves its answered call out of it
(`recorded_by_caller`), so the call is in the ledger once, under the task it served.
A quality check's judge that is a router is the same kind of side call
(`_cascade` runs it inside `enter_nested`).

A side call runs under the caller's run metadata (`side_call_config`), as LangChain
passes a run's metadata to its child runs: a router answering it draws on the
caller's per-tenant budget account, not on the ``tenant=<none>`` one all tenants share.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from contextlib import suppress
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs, var_child_runnable_config

from langchain_costrouter.budgets.counted import Counted, counting, stop_counting
from langchain_costrouter.compression import CompressionResult, PromptCompressor
from langchain_costrouter.compression.pipeline import CompressorCall
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.metadata import ITEM_PROMPT_TOKENS_KEY, AttemptRecord, CallSink
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._request import TASK_KEY, Request
from langchain_costrouter.router._steps import Charge
from langchain_costrouter.router._unpriced import refuse_unpriced, refuse_unpriced_model
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
_CALLERS_OWN_KEYS = frozenset({TASK_KEY, "batch_size", ITEM_PROMPT_TOKENS_KEY, "costrouter_role"})
"""Run metadata that describes the caller's call itself (its task, its batch, its role;
`_request.begin` reads them), not whom it serves: a side call has its own."""


def recorded_by_caller(ledger: CallSink) -> bool:
    """Whether a router's answered call is a compressor's call that the routed call it
    compresses for records (as its compressor attempts) in the same ledger store."""
    caller = _CALLER_LEDGER.get()
    if caller is None:
        return False
    spool = getattr(caller, "spool_dir", None)  # a SQL ledger's: its database and tables
    return caller is ledger or (spool is not None and spool == getattr(ledger, "spool_dir", None))


@dataclass(slots=True)
class Nested:
    """A routed call's side call (its compressor, a judge) in progress: the call's
    ledger is the caller's (`recorded_by_caller`), and its budget store's settlements
    are collected (`budgets.counted`)."""

    ledger_token: Token[CallSink | None]
    counted: Counted | None
    counting_token: Token[Counted | None] | None
    config_token: Token[RunnableConfig | None]

    def skip(self) -> frozenset[str]:
        """The budget accounts a router answering the side call counted already."""
        return frozenset(self.counted.keys) if self.counted is not None else frozenset()


def enter_nested(ledger: CallSink | None, gate: object, metadata: Mapping[str, Any]) -> Nested:
    """Start a side call whose model may be a router too (ended by `leave_nested`), under
    the caller's run ``metadata`` (`side_call_config`)."""
    store = getattr(gate, "store", None)  # None: no budgets
    counted, counting_token = counting(store) if store is not None else (None, None)
    config_token = var_child_runnable_config.set(side_call_config(metadata))
    return Nested(_CALLER_LEDGER.set(ledger), counted, counting_token, config_token)


def leave_nested(nested: Nested) -> None:
    with suppress(ValueError):  # a generator closed from another context: not ours
        _CALLER_LEDGER.reset(nested.ledger_token)
    with suppress(ValueError):
        var_child_runnable_config.reset(nested.config_token)
    if nested.counting_token is not None:
        stop_counting(nested.counting_token)


def side_call_config(metadata: Mapping[str, Any]) -> RunnableConfig:
    """The config a side call's model is invoked under (LangChain's child config, which
    `PromptCompressor` and `JudgeCheck` read): a chain's config around the call, if any,
    with the caller's run metadata (its tenant: whose budget account pays). A top-level
    call has no such config: its side calls would run with no metadata at all.

    The keys describing the caller's call are left out, wherever the config carries them
    (its metadata, its ``configurable``, the metadata its callback manager hands down to
    child runs): the caller's ``task`` would send a routed compressor to the caller's
    route, where it fails and leaves the prompt as it was.
    """
    config = merge_configs(var_child_runnable_config.get(), {"metadata": dict(metadata)})
    config["metadata"] = _callers_keys_dropped(config.get("metadata", {}))
    if configurable := config.get("configurable"):  # a label there names the call too
        config["configurable"] = {k: v for k, v in configurable.items() if k != TASK_KEY}
    if isinstance(manager := config.get("callbacks"), BaseCallbackManager):
        # The run's child manager passes the caller's metadata on to every run below it.
        manager = manager.copy()
        manager.metadata = _callers_keys_dropped(manager.metadata)
        manager.inheritable_metadata = _callers_keys_dropped(manager.inheritable_metadata)
        config["callbacks"] = manager
    return config


def _callers_keys_dropped(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if key not in _CALLERS_OWN_KEYS}


def routed_attempts(answer: Any) -> list[AttemptRecord] | None:
    """A router's answer's own attempts (what that router paid, priced by its table,
    every tier and judge), or None for a plain model's answer."""
    record = answer.response_metadata.get("costrouter")
    attempts = record.get("attempts") if isinstance(record, Mapping) else None
    if not (isinstance(attempts, list) and attempts):
        return None
    found = [AttemptRecord(**a) for a in attempts if isinstance(a, Mapping)]  # type: ignore[typeddict-item]
    for attempt in found:
        attempt.pop("avoided_cost_usd", None)  # a hit's saving is that router's
    return found


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

    Raises:
        ConfigError: the call has budgets and the compressor's model has no price:
            refused before it is asked (`_unpriced.refuse_unpriced_model`), or, when only its
            answer tells its model (a router), once it answered (`_unpriced.refuse_unpriced`);
            either way before the answer is paid.
    """
    refuse_unpriced_model("compressor", compressor.llm, budgets)
    started = time.time_ns()
    nested = enter_nested(ledger, budgets.gate, request.metadata)
    try:
        result: CompressionResult = yield from compressor.message_steps(
            request.messages,
            tools=request.kwargs.get("tools"),
            response_format=request.kwargs.get("response_format"),
        )
    finally:
        leave_nested(nested)
    request.replace_messages(list(result.messages))
    request.extra["compression_tokens_saved"] = max(0, result.tokens_saved)
    if request.trace is not None:
        request.trace.compressed(started, result)
    billed: list[AttemptRecord] = []
    for answer in result.compressor_messages:
        found = routed_attempts(answer)
        skip = frozenset() if found is None else nested.skip()
        if found is None:
            found = [accountant.side_call(answer, request.messages, "compressor")]
        for attempt in found:
            attempt.update(
                {"tier": -1, "accepted": False, "reason": "compression", "role": "compressor"}
            )
            request.attempts.append(attempt)
            billed.append(attempt)
            if budgets.enabled and (cost := attempt.get("cost_usd")) is not None:
                yield Charge("compressor", cost, counted=skip)
    if budgets.enabled:
        refuse_unpriced("compressor", billed)
