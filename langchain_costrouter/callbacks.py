"""`CostCallbackHandler`: audit the spend of any LangChain app, per task label.

Attach it to a chain (``config={"callbacks": [handler]}``) and every chat model or
LLM run becomes ledger rows: tokens, dollars and what the same tokens would cost on
a reference model. A `RoutedChatModel` answer is recorded attempt by attempt from
its ``response_metadata["costrouter"]`` record, discarded attempts included.

Each call is counted once: only model runs make rows (chains do not), a model run
nested in another (a wrapper calling a child's ``invoke``) is folded into the
outer one, and rows are keyed by run id and attempt, so a `RoutedChatModel` writing
to the same ledger does not double them either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from langchain_costrouter.ledger import Ledger, LedgerRow, open_ledger
from langchain_costrouter.ledger.llm_result import (
    Pricing,
    RunEnd,
    RunStart,
    rows_from_error,
    rows_from_result,
)
from langchain_costrouter.pricing import PriceTable

_TASK_TAG = "task:"


class CostCallbackHandler(BaseCallbackHandler):
    """Records tokens and dollars of every model call into a ledger.

    The task label of a call is its run metadata ``"task"``, else a tag
    ``"task:<label>"``, else the run name. Streams are recorded from the final
    chunk's usage, or from a tiktoken estimate (flagged ``usage_estimated``) when
    the provider sent none; a failed call is a row with the error type and no cost.
    """

    # The handler only appends to an in-memory queue, so it runs on the caller's
    # thread instead of a thread-pool hop per event in async code.
    run_inline = True

    def __init__(
        self,
        ledger: Ledger | str | None = None,
        *,
        prices: PriceTable | None = None,
        reference_model: str | None = None,
    ) -> None:
        """Args:
        ledger: A `Ledger` or a ledger URL (`open_ledger`); None opens the default
            SQLite ledger in the user data dir.
        prices: The price table; None uses genai-prices with no overrides.
        reference_model: The model savings are measured against; None measures each
            call against its own model (no routing, so no savings).
        """
        super().__init__()
        self.ledger = open_ledger(ledger)
        self.prices = prices or PriceTable()
        self.reference_model = reference_model
        self._pricing = Pricing(self.prices, reference_model)
        self._runs: dict[UUID, RunStart] = {}
        self._lock = threading.Lock()

    @property
    def ignore_chain(self) -> bool:
        """Chains make no rows; skipping their events keeps the handler cheap."""
        return True

    @property
    def ignore_agent(self) -> bool:
        """Agents make no rows."""
        return True

    @property
    def ignore_retriever(self) -> bool:
        """Retrievers make no rows."""
        return True

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember the run's labels: its end event carries no metadata."""
        prompt = messages[0] if messages else []
        self._start(serialized, prompt, run_id, tags, metadata, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember a completion LLM's run, like a chat model's."""
        self._start(serialized, prompts, run_id, tags, metadata, kwargs)

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record the finished run (or hand its rows to the run it is nested in)."""
        run = self._pop(run_id)
        if run is None:
            return
        rows = rows_from_result(response, run, _ended(run, run_id), self._pricing)
        self._record(rows or run.nested_rows, parent_run_id)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a failed run: the error type, no cost, and what nested runs spent."""
        run = self._pop(run_id)
        if run is None:
            return
        rows = rows_from_error(error, run, _ended(run, run_id))
        self._record(rows + run.nested_rows, parent_run_id)

    def _start(
        self,
        serialized: dict[str, Any] | None,
        prompt: Sequence[BaseMessage] | Sequence[str],
        run_id: UUID,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        metadata = metadata or {}
        params: dict[str, Any] = kwargs.get("invocation_params") or {}
        run = RunStart(
            started=time.perf_counter(),
            task=_task_label(metadata, tags, kwargs.get("name"), serialized),
            namespace=metadata.get("namespace"),
            model=_model_name(metadata, params, serialized),
            provider=metadata.get("ls_provider"),
            prompt=prompt,
        )
        with self._lock:
            self._runs[run_id] = run

    def _pop(self, run_id: UUID) -> RunStart | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def _record(self, rows: list[LedgerRow], parent_run_id: UUID | None) -> None:
        with self._lock:
            parent = self._runs.get(parent_run_id) if parent_run_id else None
            if parent is not None:
                # A model run inside another: the outer run's record covers it.
                parent.nested_rows.extend(rows)
                return
        self.ledger.add(rows)


def _ended(run: RunStart, run_id: UUID) -> RunEnd:
    latency_ms = (time.perf_counter() - run.started) * 1000.0
    return RunEnd(run_id=str(run_id), when=datetime.now(UTC), latency_ms=latency_ms)


def _model_name(
    metadata: dict[str, Any], params: dict[str, Any], serialized: dict[str, Any] | None
) -> str | None:
    """The model asked for, until the response names the one that answered."""
    for name in (metadata.get("ls_model_name"), params.get("model"), params.get("model_name")):
        if isinstance(name, str) and name:
            return name
    return _serialized_name(serialized)


def _serialized_name(serialized: dict[str, Any] | None) -> str | None:
    serialized = serialized or {}
    name = serialized.get("name") or (serialized.get("id") or [None])[-1]
    return name if isinstance(name, str) else None


def _task_label(
    metadata: dict[str, Any],
    tags: list[str] | None,
    run_name: str | None,
    serialized: dict[str, Any] | None,
) -> str | None:
    """Run metadata ``task``, else a ``task:<label>`` tag, else the run's name."""
    task = metadata.get("task")
    if isinstance(task, str) and task:
        return task
    for tag in tags or ():
        if tag.startswith(_TASK_TAG) and len(tag) > len(_TASK_TAG):
            return tag[len(_TASK_TAG) :]
    return run_name or _serialized_name(serialized)
