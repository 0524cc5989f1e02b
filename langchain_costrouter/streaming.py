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
from langchain_costrouter.cascade import CascadeContext, CascadeOutcome, run_cascade
from langchain_costrouter.delegation import (
    astream_child,
    content_chunk,
    final_chunk,
    strip_router_keys,
)
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.routing import Deployment, Route
from langchain_costrouter.steps import Called, CallModel, aperform, perform

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
    ctx = pipeline.cascade_context(request)
    with records.recording_failures(pipeline, request):
        outcome = yield from _drive_live(pipeline, request, ctx)
    yield from _close(pipeline, request, outcome)


def _drive_live(
    pipeline: Pipeline, request: Request, ctx: CascadeContext
) -> Generator[ChatGenerationChunk, None, CascadeOutcome]:
    """The cascade, with calls to unchecked tiers streamed straight to the caller."""
    flow = run_cascade(request.route, ctx)
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if isinstance(step, CallModel) and request.route.tiers[step.tier].check is None:
            reply = yield from _stream_call(request, step.deployment)
        else:
            reply = perform(step, lambda d: pipeline._call(request, d), request.messages)


def _stream_call(
    request: Request, deployment: Deployment
) -> Generator[ChatGenerationChunk, None, Called]:
    from langchain_costrouter.delegation import stream_child

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
    ctx = pipeline.cascade_context(request)
    flow = run_cascade(request.route, ctx)
    reply: Any = None
    with records.recording_failures(pipeline, request):
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as done:
                outcome: CascadeOutcome = done.value
                break
            if isinstance(step, CallModel) and request.route.tiers[step.tier].check is None:
                sink: list[Any] = []
                async for chunk in _astream_call(request, step.deployment, sink):
                    yield chunk
                reply = _called_from(sink)
            else:
                reply = await aperform(
                    step, lambda d: pipeline._acall(request, d), request.messages
                )
    message = records.finish(pipeline, request, outcome)
    await stages.astore(pipeline.cache, request, message)
    yield final_chunk(message, message.response_metadata)


async def _astream_call(
    request: Request, deployment: Deployment, sink: list[Any]
) -> AsyncIterator[ChatGenerationChunk]:
    """Yield stripped chunks; leave the collected chunks and then a `Called` in ``sink``."""
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


def _called_from(sink: list[Any]) -> Called:
    return sink[-1]  # type: ignore[no-any-return]


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
