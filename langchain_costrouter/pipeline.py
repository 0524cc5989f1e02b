"""The stages of one routed call, shared by the sync, async and streaming paths.

`Pipeline.begin` resolves everything that is known before any I/O (task, route,
child kwargs, cache request); `run`/`arun` then walk the request path: cache lookup,
coalescing, compression, cascade, finish (metadata, ledger), cache update.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter import records, stages
from langchain_costrouter.accounting import Accountant
from langchain_costrouter.cascade import (
    CascadeContext,
    CascadeOutcome,
    accept_first_answer,
    decided_by_first_call,
    run_cascade,
)
from langchain_costrouter.delegation import acall_child, call_child
from langchain_costrouter.request import Request, model_max_tokens, read_run_metadata
from langchain_costrouter.routes import Deployment, pinned_route, resolve_task
from langchain_costrouter.steps import Primed, adrive, atimed, drive, timed

if TYPE_CHECKING:
    from langchain_costrouter.chat_model import RoutedChatModel


@dataclass
class Pipeline:
    """The router's stages, built once per router from its fields."""

    router: RoutedChatModel
    accountant: Accountant
    cache: Any
    ledger: Any
    rng: random.Random
    described_routes: dict[str, list[list[str]]]
    """Route labels for `_identifying_params`, computed once (read on every call)."""
    default_model_id: str
    """The model LangSmith is told of when a call pins none (also read on every call)."""

    @classmethod
    def build(cls, router: RoutedChatModel) -> Pipeline:
        return cls(
            cache=stages.open_router_cache(router.response_cache),
            ledger=stages.open_router_ledger(router.ledger),
            rng=random.Random(),
            **_read_from(router),
        )

    def rebind(self, router: RoutedChatModel) -> Pipeline:
        """The same open cache and ledger, serving a copy of the router."""
        return replace(self, **_read_from(router))

    def begin(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> Request:
        """Resolve the task and route and split call-only kwargs from the child's."""
        router = self.router
        # ``kwargs`` is the call's own ``**kwargs`` dict: what is left of it goes to the child.
        task = self._task(kwargs.pop("task", None), run_manager)
        kwargs.pop("stream", None)
        route = router.route_table[task]
        if "model" in kwargs:
            route = pinned_route(router.route_table.values(), kwargs.pop("model"))
        run_id = str(run_manager.run_id) if run_manager else str(uuid.uuid4())
        request = Request(task, route, messages, stop, kwargs, run_id)
        request.cache_request = stages.cache_request(self.cache, request, router.namespace)
        read_run_metadata(request, run_manager.metadata if run_manager else {})
        return request

    def _task(self, explicit: Any, run_manager: Any) -> str:
        router = self.router
        metadata = run_manager.metadata if run_manager else None
        try:
            return resolve_task(
                explicit,
                metadata,
                None,
                routes=router.route_table,
                default_task=router.default_task,
            )
        except KeyError:
            if router.unknown_task == "default" and router.default_task:
                return router.default_task
            raise

    # -- sync

    def run(self, request: Request) -> AIMessage:
        if request.cache_request is None:
            return self._answer(request)
        hit = stages.lookup(self.cache, request.cache_request)
        if hit is not None:
            return records.serve_hit(self, request, hit)
        with self.cache.coalesce(request.cache_request) as leader:
            if not leader and (hit := stages.lookup(self.cache, request.cache_request)):
                return records.serve_hit(self, request, hit)
            message = self._answer(request)
            stages.store(self.cache, request, message)
        return message

    def _answer(self, request: Request) -> AIMessage:
        """Compression, cascade and finish: everything after a cache miss."""
        stages.compress(self, request)
        try:  # not `records.recording_failures`: a generator context manager costs ~2 us
            outcome = self._cascade(request)
        except Exception:
            records.record_failure(self, request)
            raise
        return records.finish(self, request, outcome)

    def _cascade(self, request: Request) -> CascadeOutcome:
        """The cascade; its first call made directly when that call alone can decide it."""
        call = partial(self._call, request)
        primed = None
        if (first := decided_by_first_call(request.route, self.router.breakers)) is not None:
            called = timed(call, first)
            if called.message is not None:
                return self.accept_first(request, first, called.message, called.latency_ms)
            primed = Primed(first, called)
        flow = run_cascade(request.route, self.cascade_context(request))
        return drive(flow, call, request.messages, primed)

    def _call(self, request: Request, deployment: Deployment) -> AIMessage:
        return call_child(deployment.model, request.messages, request.stop, request.kwargs)

    # -- async

    async def arun(self, request: Request) -> AIMessage:
        if request.cache_request is None:
            return await self._aanswer(request)
        hit = await stages.alookup(self.cache, request.cache_request)
        if hit is not None:
            return records.serve_hit(self, request, hit)
        async with self.cache.acoalesce(request.cache_request) as leader:
            if not leader and (hit := await stages.alookup(self.cache, request.cache_request)):
                return records.serve_hit(self, request, hit)
            message = await self._aanswer(request)
            await stages.astore(self.cache, request, message)
        return message

    async def _aanswer(self, request: Request) -> AIMessage:
        await stages.acompress(self, request)
        try:
            outcome = await self._acascade(request)
        except Exception:
            records.record_failure(self, request)
            raise
        return records.finish(self, request, outcome)

    async def _acascade(self, request: Request) -> CascadeOutcome:
        """Async twin of `_cascade`."""
        acall = partial(self._acall, request)
        primed = None
        if (first := decided_by_first_call(request.route, self.router.breakers)) is not None:
            called = await atimed(acall, first)
            if called.message is not None:
                return self.accept_first(request, first, called.message, called.latency_ms)
            primed = Primed(first, called)
        flow = run_cascade(request.route, self.cascade_context(request))
        return await adrive(flow, acall, request.messages, primed)

    async def _acall(self, request: Request, deployment: Deployment) -> AIMessage:
        return await acall_child(deployment.model, request.messages, request.stop, request.kwargs)

    # -- shared stages

    def accept_first(
        self, request: Request, deployment: Deployment, message: AIMessage, latency_ms: float
    ) -> CascadeOutcome:
        """The outcome when the call `decided_by_first_call` picked answered (any path)."""
        record = self.accountant.attempt(deployment, message, request.messages)
        record["latency_ms"] = latency_ms
        return accept_first_answer(
            request.attempts, self.router.breakers, deployment, message, record
        )

    def cascade_context(self, request: Request) -> CascadeContext:
        router = self.router
        max_tokens = request.kwargs.get("max_tokens")
        return CascadeContext(
            task=request.task,
            price=lambda d, m: self.accountant.attempt(d, m, request.messages),
            price_side_call=lambda m: self.accountant.side_call(m, request.messages, "judge"),
            estimate_cost=lambda d: self.accountant.estimate(
                d,
                request.prompt_tokens,
                max_tokens or model_max_tokens(d, router.default_max_tokens),
            ),
            breakers=router.breakers,
            retry=router.retry,
            rng=self.rng,
            attempts=request.attempts,
        )


def _read_from(router: RoutedChatModel) -> dict[str, Any]:
    """The fields derived from the router itself (built again for a copy of it)."""
    task = router.default_task or next(iter(router.route_table))
    return {
        "router": router,
        "accountant": stages.accountant_for(router),
        "described_routes": {t: route.describe() for t, route in router.route_table.items()},
        "default_model_id": router.route_table[task].tiers[0].primary.model_id,
    }
