"""The flow of one routed call, written once: cache, compression, cascade, record, cache.

`serve` decides; it never does I/O. It yields steps (`_steps`) that a driver performs
(`langchain_costrouter._sansio.drive` or `adrive`, with `_io.RouterIO`), so invoke,
ainvoke, stream, astream and batch all run this one function::

    ReadCache        a hit is answered at $0 (replayed as a stream when streaming)
    HoldFlight       identical calls in flight wait for one leader, then read again
    CompressorCall*  the task's compressor shrinks the prompt (its calls are billed)
    CallModel*, RunCheck*, Sleep*   the cascade (`_cascade.run_cascade`)
    record           the answer's record and the ledger rows (`_record.Recorder`)
    shadow           a sampled answer is queued for evaluation off the path (`_shadow`)
    WriteCache       accepted answers only (the cache keeps complete ones)

Anything raised on the way (a provider error no tier could fix, a cancellation, a
consumer that stopped reading a stream) is recorded before it propagates.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage

from langchain_costrouter.router._cache import CacheStage
from langchain_costrouter.router._cascade import CascadeParts, run_cascade
from langchain_costrouter.router._compress import Compressors, compress
from langchain_costrouter.router._record import Recorder
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._shadow import NoShadow, Shadow
from langchain_costrouter.router._steps import HoldFlight, ReadCache, Step, WriteCache


@dataclass(frozen=True, slots=True)
class Stages:
    """The collaborators a routed call goes through, each with a do-nothing variant."""

    cache: CacheStage
    compressors: Compressors
    cascade: CascadeParts
    recorder: Recorder
    shadow: Shadow = NoShadow()  # noqa: RUF009 - stateless


def serve(request: Request, stages: Stages) -> Generator[Step, Any, AIMessage]:
    """Answer one routed call; see the module docstring for the steps it yields."""
    key = request.cache_key
    if key is not None:
        hit = yield ReadCache(key)
        if hit is None and not (yield HoldFlight(key)):  # a follower: the leader answered
            hit = yield ReadCache(key)
        if hit is not None:
            return stages.recorder.serve_hit(request, hit)
    try:
        if (compressor := stages.compressors.for_request(request)) is not None:
            yield from compress(
                request,
                compressor,
                stages.cascade.accountant,
                stages.cascade.budgets,
                stages.recorder.ledger,
            )
        outcome = yield from run_cascade(request, stages.cascade)
    except BaseException as error:  # recorded, then raised as it is
        stages.recorder.fail(request, error)
        raise
    message = stages.recorder.finish(request, outcome)
    stages.shadow.observe(request, message)
    if key is not None and outcome.accepted:
        yield WriteCache(key, message)
    return message
