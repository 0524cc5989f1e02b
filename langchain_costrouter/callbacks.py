"""`CostCallbackHandler`: audit the spend of any LangChain app, per task label.

Attach it to a chain (``config={"callbacks": [handler]}``) and every chat model or
LLM run becomes ledger rows: tokens, dollars and what the same tokens would cost on
a reference model. A `RoutedChatModel` answer is recorded attempt by attempt from
its ``response_metadata["costrouter"]`` record, discarded attempts included.

Each call is counted once: only model runs make rows (chains do not), a model run
nested in another (a wrapper calling a child's ``invoke``, directly or through
``with_retry``, ``with_fallbacks``, a pipe or any other chain) is folded into the
outer one, and rows are keyed by run id and attempt, so a `RoutedChatModel` writing
to the same ledger does not double them either.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from langchain_costrouter._task_runs import TaskRuns
from langchain_costrouter.ledger import Ledger, LedgerRow, open_ledger
from langchain_costrouter.ledger.llm_batches import CompletionBatches, Ended, batch_rows
from langchain_costrouter.ledger.llm_result import rows_from_error
from langchain_costrouter.ledger.run_labels import model_name, request_model, task_label
from langchain_costrouter.ledger.runs import Pricing, RunEnd, RunStart
from langchain_costrouter.pricing import PriceTable


class CostCallbackHandler(BaseCallbackHandler):
    """Records tokens and dollars of every model call into a ledger.

    The task label of a call is its run metadata ``"task"``, else a tag
    ``"task:<label>"``, else the ``configurable["task"]`` of the chain step's config,
    else the run name. A completion model's batch is a row per prompt, each its share
    of the usage reported for the batch. Streams are recorded from the final
    chunk's usage, or from a tiktoken estimate (flagged ``usage_estimated``) when
    the provider sent none. A failed call is a row with the error type, billed as the
    router bills one: a refused call costs nothing, an answer the client refused
    (cut at the length limit) its usage, a stream cut or a call cancelled while the
    provider answered an estimate of its prompt and what it delivered.
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
        # Chain run -> its parent, only for chains inside an open model run: the links
        # from a nested model run up to the model run that folds it.
        self._chains: dict[UUID, UUID] = {}
        self._lock = threading.Lock()
        self._tasks = TaskRuns(self._abandoned)
        self._batches = CompletionBatches()

    @property
    def ignore_chain(self) -> bool:
        """Skip chain events unless a model run is open (or a chain inside one is).

        Chains make no rows, but a model run nested in another through a chain
        (``with_retry``, a pipe, fallbacks) has the chain as its parent, so the chains
        between them are needed to find the outer run. A chain started while no model
        run is open cannot be inside one, so the common case dispatches no chain events.
        """
        return not self._runs and not self._chains

    @property
    def ignore_agent(self) -> bool:
        """Agents make no rows."""
        return True

    @property
    def ignore_retriever(self) -> bool:
        """Retrievers make no rows."""
        return True

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Link a chain inside an open model run, so model runs under it fold upwards."""
        if parent_run_id is None:
            return
        with self._lock:
            if parent_run_id in self._runs or parent_run_id in self._chains:
                self._chains[run_id] = parent_run_id

    def on_chain_end(self, outputs: dict[str, Any], *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the chain: the model runs under it have ended."""
        self._forget_chain(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the failed chain, like a finished one."""
        self._forget_chain(run_id)

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
        self._start(serialized, prompt, (run_id, parent_run_id), tags, metadata, kwargs)

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
        """Remember a completion LLM's run, like a chat model's, and the batch it is in."""
        self._start(serialized, prompts, (run_id, parent_run_id), tags, metadata, kwargs)
        self._batches.started(run_id, kwargs.get("batch_size"), kwargs.get("invocation_params"))

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record the finished run (or hand its rows to the run it is nested in); a
        completion batch's runs once the last has ended (`CompletionBatches`)."""
        run = self._pop(run_id)
        if run is None:
            return
        self._record_ended(self._batches.ended(run_id, Ended(response, run, _ended(run, run_id))))

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a failed run (with the chunks a stream delivered: ``response``)."""
        self._failed(error, run_id, kwargs.get("response"))

    def _failed(self, error: BaseException, run_id: UUID, response: LLMResult | None) -> None:
        run = self._pop(run_id)
        if run is None:
            return
        rows = rows_from_error(error, run, _ended(run, run_id), self._pricing, response)
        self._record(rows + run.nested_rows, run.parent_run_id)
        self._record_ended(self._batches.failed(run_id))

    def _abandoned(self, run_ids: list[UUID]) -> None:
        """Record the runs a cancelled asyncio task left open, unreported (`TaskRuns`).

        Innermost first, so a nested run is folded into the run around it.
        """
        with self._lock:
            left = sorted(
                (self._runs[run_id].started, run_id) for run_id in run_ids if run_id in self._runs
            )
        for _, run_id in reversed(left):
            self._failed(asyncio.CancelledError(), run_id, None)

    def _start(
        self,
        serialized: dict[str, Any] | None,
        prompt: Sequence[BaseMessage] | Sequence[str],
        ids: tuple[UUID, UUID | None],
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        """Open the run ``ids`` (its own id and its parent's)."""
        run_id, parent_run_id = ids
        metadata = metadata or {}
        params: dict[str, Any] = kwargs.get("invocation_params") or {}
        run = RunStart(
            started=time.perf_counter(),
            task=task_label(metadata, tags, kwargs.get("name"), serialized),
            namespace=metadata.get("namespace"),
            model=model_name(metadata, params, serialized),
            request_model=request_model(metadata, params),
            provider=metadata.get("ls_provider"),
            prompt=prompt,
            role="compressor" if metadata.get("costrouter_role") == "compressor" else "answer",
            parent_run_id=parent_run_id,
        )
        with self._lock:
            self._runs[run_id] = run
        self._tasks.started(run_id)

    def _pop(self, run_id: UUID) -> RunStart | None:
        self._tasks.ended(run_id)
        with self._lock:
            return self._runs.pop(run_id, None)

    def _forget_chain(self, run_id: UUID) -> None:
        if self._chains:
            with self._lock:
                self._chains.pop(run_id, None)

    def _record_ended(self, runs: list[Ended]) -> None:
        for ended, rows in zip(runs, batch_rows(runs, self._pricing), strict=True):
            self._record(rows or ended.run.nested_rows, ended.run.parent_run_id)

    def _record(self, rows: list[LedgerRow], parent_run_id: UUID | None) -> None:
        with self._lock:
            outer = self._outer_run(parent_run_id)
            if outer is not None:
                # A model run inside another: the outer run's record covers it.
                outer.nested_rows.extend(rows)
                return
        self.ledger.add(rows)

    def _outer_run(self, run_id: UUID | None) -> RunStart | None:
        """The nearest open model run at or above ``run_id``, through linked chains.

        Caller holds the lock. An unlinked chain ends the walk: it began outside any
        model run, so nothing above it can fold this run.
        """
        while run_id is not None:
            run = self._runs.get(run_id)
            if run is not None:
                return run
            run_id = self._chains.get(run_id)
        return None


def _ended(run: RunStart, run_id: UUID) -> RunEnd:
    latency_ms = (time.perf_counter() - run.started) * 1000.0
    return RunEnd(run_id=str(run_id), when=datetime.now(UTC), latency_ms=latency_ms)
