"""Streaming through the router.

A tier without a quality check accepts whatever its model says, so its answer is
streamed live, chunk by chunk, with failover before the first chunk. A tier with a
check must be judged on the whole answer, so that answer is buffered and streamed
only once accepted: the trade-off is time-to-first-token for never showing the user
an answer that is then replaced. Cache hits replay as a stream. Usage, model_name
and the costrouter record come once, on the last chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessageChunk, message_chunk_to_message
from langchain_core.outputs import ChatGenerationChunk

from langchain_costrouter import records, stages
from langchain_costrouter.cascade import CascadeOutcome, decided_by_first_call, run_cascade
from langchain_costrouter.delegation import (
    astream_child,
    content_chunk,
    final_chunk,
    stream_child,
    strip_router_keys,
)
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.routes import Deployment, Route
from langchain_costrouter.steps import Called, CallModel, Primed, aperform, perform, use_primed

if TYPE_CHECKING:
    from langchain_costrouter.pipeline import Pipeline
    from langchain_costrouter.request import Request


def live(route: Route) -> bool:
    """Stream live when the first tier has no check (its answer is accepted as is)."""
    return route.tiers[0].check is None


def stream_request(pipeline: Pipeline, request: Request) -> Iterator[ChatGenerationChunk]:
    if not live(request.route):
        yield from replay(pipeline.run(request))
        return
    if (hit := stages.lookup(pipeline.cache, request.cache_request)) is not None:
        yield from replay(records.serve_hit(pipeline, request, hit))
        return
    stages.compress(pipeline, request)
    with records.recording_failures(pipeline, request):
        outcome = yield from _drive_live(pipeline, request)
    yield from _close(pipeline, request, outcome)


def _drive_live(
    pipeline: Pipeline, request: Request
) -> Generator[ChatGenerationChunk, None, CascadeOutcome]:
    """The cascade, with calls to unchecked tiers streamed straight to the caller.

    As in `Pipeline.run`, a first call that alone decides the cascade is made
    directly, and the cascade starts (primed with that call) only when it fails.
    """
    primed = None
    if (first := decided_by_first_call(request.route, pipeline.router.breakers)) is not None:
        called = yield from _stream_call(request, first)
        if called.message is not None:
            return pipeline.accept_first(request, first, called.message, called.latency_ms)
        primed = Primed(first, called)
    flow = run_cascade(request.route, pipeline.cascade_context(request))
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        answer, primed = use_primed(step, primed)
        if answer is not None:
            reply = answer
        elif isinstance(step, CallModel) and request.route.tiers[step.tier].check is None:
            reply = yield from _stream_call(request, step.deployment)
        else:
            reply = perform(step, lambda d: pipeline._call(request, d), request.messages)


def _stream_call(
    request: Request, deployment: Deployment
) -> Generator[ChatGenerationChunk, None, Called]:
    start = time.perf_counter()
    chunks: list[BaseMessageChunk] = []
    try:
        for chunk in stream_child(deployment.model, request.messages, request.stop, request.kwargs):
            chunks.append(chunk.message.model_copy())  # see `_merge`
            yield strip_router_keys(chunk)
    except Exception as error:  # handed to the policy, which re-raises non-provider errors
        _raise_if_cut(chunks, error, deployment)
        return Called(None, error, _ms(start))
    return Called(_merge(chunks), None, _ms(start))


def _close(
    pipeline: Pipeline, request: Request, outcome: CascadeOutcome
) -> Iterator[ChatGenerationChunk]:
    message = records.finish(pipeline, request, outcome)
    stages.store(pipeline.cache, request, message)
    yield final_chunk(message, message.response_metadata)


def replay(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """A finished (buffered or cached) answer as a body chunk and a closing chunk."""
    yield content_chunk(message)
    yield final_chunk(message, message.response_metadata)


async def astream_request(
    pipeline: Pipeline, request: Request
) -> AsyncIterator[ChatGenerationChunk]:
    if not live(request.route):
        for chunk in replay(await pipeline.arun(request)):
            yield chunk
        return
    if (hit := await stages.alookup(pipeline.cache, request.cache_request)) is not None:
        for chunk in replay(records.serve_hit(pipeline, request, hit)):
            yield chunk
        return
    await stages.acompress(pipeline, request)
    outcomes: list[CascadeOutcome] = []
    with records.recording_failures(pipeline, request):
        async for chunk in _adrive_live(pipeline, request, outcomes):
            yield chunk
    message = records.finish(pipeline, request, outcomes[-1])
    await stages.astore(pipeline.cache, request, message)
    yield final_chunk(message, message.response_metadata)


async def _adrive_live(
    pipeline: Pipeline, request: Request, outcomes: list[CascadeOutcome]
) -> AsyncIterator[ChatGenerationChunk]:
    """Async twin of `_drive_live`; the outcome is left in ``outcomes``."""
    primed = None
    if (first := decided_by_first_call(request.route, pipeline.router.breakers)) is not None:
        calls: list[Called] = []
        async for chunk in _astream_call(request, first, calls):
            yield chunk
        if (called := calls[-1]).message is not None:
            outcomes.append(
                pipeline.accept_first(request, first, called.message, called.latency_ms)
            )
            return
        primed = Primed(first, called)
    flow = run_cascade(request.route, pipeline.cascade_context(request))
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            outcomes.append(done.value)
            return
        answer, primed = use_primed(step, primed)
        if answer is not None:
            reply = answer
        elif isinstance(step, CallModel) and request.route.tiers[step.tier].check is None:
            calls = []
            async for chunk in _astream_call(request, step.deployment, calls):
                yield chunk
            reply = calls[-1]
        else:
            reply = await aperform(step, lambda d: pipeline._acall(request, d), request.messages)


async def _astream_call(
    request: Request, deployment: Deployment, sink: list[Called]
) -> AsyncIterator[ChatGenerationChunk]:
    """Yield stripped chunks; leave the call's `Called` in ``sink``."""
    start = time.perf_counter()
    chunks: list[BaseMessageChunk] = []
    try:
        async for chunk in astream_child(
            deployment.model, request.messages, request.stop, request.kwargs
        ):
            chunks.append(chunk.message.model_copy())  # see `_merge`
            yield strip_router_keys(chunk)
    except Exception as error:  # handed to the policy, which re-raises non-provider errors
        _raise_if_cut(chunks, error, deployment)
        sink.append(Called(None, error, _ms(start)))
        return
    sink.append(Called(_merge(chunks), None, _ms(start)))


def _raise_if_cut(chunks: list[BaseMessageChunk], error: Exception, deployment: Deployment) -> None:
    """A stream that already reached the user cannot be retried without duplicating text."""
    if chunks:
        raise ProviderError(
            f"{deployment.label} cut the stream after {len(chunks)} chunks "
            f"({type(error).__name__}). "
            "The partial answer was already streamed, so it was not retried; retry the call, "
            "or add a quality check to the route's first tier to buffer its answers.",
            model=deployment.model_id,
            provider=deployment.provider,
            retryable=True,
            kind="stream_cut",
        ) from error


def _merge(chunks: list[BaseMessageChunk]) -> AIMessage:
    """The child's answer from the messages of its chunks, as they came.

    The caller's chunks are stripped of usage and metadata (`strip_router_keys`), so
    the router keeps a copy of each message first. A shallow copy is enough: the
    stripping reassigns fields and never changes them in place (a deep copy per chunk
    cost as much as the rest of the streaming path).
    """
    if not chunks:
        return AIMessage(content="")
    first, *rest = chunks
    merged = first + rest if rest else first
    message = message_chunk_to_message(merged)
    assert isinstance(message, AIMessage)
    return message


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
