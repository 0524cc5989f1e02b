"""A real OpenAI-compatible HTTP server on loopback, for driving the real ``ChatOpenAI``.

Tests talk to it through ``ChatOpenAI(base_url=server.base_url, api_key="test")``, so the
OpenAI SDK, httpx, SSE parsing and LangChain's conversion all run for real. What the
server answers is decided, in order, by:

1. scripted replies and faults (``script``), consumed one per request, per model first;
2. a seeded random fault rate (``set_fault_rate``), for load tests;
3. a responder callable (``set_responder``), returning ``None`` to pass;
4. the default brain: deterministic, plausible answers (see ``brain.py``).

Every request is logged (``requests``) so tests can count provider calls and input tokens.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from langchain_costrouter.testing.brain import brain_reply
from langchain_costrouter.testing.handler import ChatServer
from langchain_costrouter.testing.replies import Fault, FaultKind, LoggedRequest, Reply, ReplySource
from langchain_costrouter.testing.wire import OUTPUT_CAP_FIELDS

Responder = Callable[[dict[str, Any]], Reply | Fault | None]
"""Decides the answer to a request body; ``None`` leaves it to the default brain."""


@dataclass(frozen=True)
class _FaultRate:
    rate: float
    kinds: tuple[FaultKind | Fault, ...]
    rng: random.Random

    def draw(self) -> Fault:
        """One of the kinds, at random; a kind given as a ``Fault`` is played as scripted."""
        chosen = self.rng.choice(self.kinds)
        return chosen if isinstance(chosen, Fault) else Fault(kind=chosen)


class LocalOpenAIServer:
    """An OpenAI-compatible chat completions server on ``127.0.0.1`` (port chosen by the OS).

    Use as a context manager, or ``start()``/``stop()``. Several instances can run at
    once (e.g. two providers in a failover test). All methods are thread-safe.

    ``output_cap_fields`` are the request fields that cap an answer's length: both of
    OpenAI's by default; ``("max_tokens",)`` plays a server such as llama.cpp's, which
    ignores ``max_completion_tokens`` and answers at full length.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        output_cap_fields: Sequence[str] = OUTPUT_CAP_FIELDS,
    ) -> None:
        self.output_cap_fields = tuple(output_cap_fields)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._scripts: dict[str | None, deque[Reply | Fault]] = {}
        self._responder: Responder | None = None
        self._latency: dict[str | None, tuple[float, float]] = {}
        self._fault_rate: _FaultRate | None = None
        self._log: list[LoggedRequest] = []
        self._http = ChatServer((host, port), self)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``ChatOpenAI``, e.g. ``http://127.0.0.1:40123/v1``."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> Self:
        """Serve in a daemon thread; returns ``self`` for chaining."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests end at once and their clients see a closed socket."""
        self._closing.set()
        if self._thread.is_alive():
            self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def script(self, replies: Iterable[Reply | Fault], *, model: str | None = None) -> None:
        """Queue answers, consumed one per request in order.

        Args:
            replies: Replies and faults to play.
            model: Only requests for this model consume them; ``None`` means any model
                (used after the model's own queue is empty).
        """
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(replies)

    def set_responder(self, responder: Responder | None) -> None:
        """Decide answers with ``responder(request_body)`` when no script applies."""
        with self._lock:
            self._responder = responder

    def set_latency(
        self, seconds: float, *, per_chunk: float = 0.0, model: str | None = None
    ) -> None:
        """Delay answers: ``seconds`` before the first byte, ``per_chunk`` between SSE events.

        Args:
            seconds: Delay before the response starts.
            per_chunk: Delay between streamed events.
            model: Only for this model; ``None`` sets the default for all models.
        """
        with self._lock:
            self._latency[model] = (seconds, per_chunk)

    def set_fault_rate(
        self, rate: float, *, kinds: Sequence[FaultKind | Fault] = ("500",), seed: int = 0
    ) -> None:
        """Fail a random share ``rate`` of unscripted requests, reproducibly for a given seed.

        ``kinds`` are drawn from at random; give a ``Fault`` instead of a kind to choose its
        details, e.g. ``Fault("400", code=CONTEXT_LENGTH_EXCEEDED)`` for overflows.
        """
        with self._lock:
            self._fault_rate = (
                _FaultRate(rate, tuple(kinds), random.Random(seed)) if rate > 0 else None
            )

    def reset(self) -> None:
        """Forget scripts, responder, latency, fault rate and the request log."""
        with self._lock:
            self._scripts.clear()
            self._responder = None
            self._latency.clear()
            self._fault_rate = None
            self._log.clear()

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def request_count(self, model: str | None = None) -> int:
        """Requests received (for ``model`` only, when given)."""
        return len(self._matching(model))

    def prompt_tokens_total(self, model: str | None = None) -> int:
        """Sum of the prompt tokens the server counted (for ``model`` only, when given)."""
        return sum(entry.prompt_tokens for entry in self._matching(model))

    def pending_script_count(self, model: str | None = None) -> int:
        """Scripted answers not consumed yet in ``model``'s queue (``None``: any-model queue)."""
        with self._lock:
            return len(self._scripts.get(model, ()))

    def next_answer(self, body: dict[str, Any]) -> tuple[Reply | Fault, ReplySource]:
        """Decide the answer to one request (called by the HTTP handler)."""
        model = body.get("model")
        with self._lock:
            for queue_key in (model, None):
                queue = self._scripts.get(queue_key)
                if queue:
                    return queue.popleft(), "script"
            fault_rate, responder = self._fault_rate, self._responder
            if fault_rate and fault_rate.rng.random() < fault_rate.rate:
                return fault_rate.draw(), "random_fault"
        answer = responder(body) if responder else None
        if answer is not None:
            return answer, "responder"
        return brain_reply(body), "brain"

    def latency_for(self, model: str | None) -> tuple[float, float]:
        """Seconds before the first byte and between SSE events for ``model``."""
        with self._lock:
            return self._latency.get(model, self._latency.get(None, (0.0, 0.0)))

    def record(self, entry: LoggedRequest) -> None:
        """Append one request to the log (called by the HTTP handler)."""
        with self._lock:
            self._log.append(entry)

    def is_closing(self) -> bool:
        """Whether ``stop()`` was called, so hanging requests give up."""
        return self._closing.is_set()

    def _matching(self, model: str | None) -> list[LoggedRequest]:
        return [entry for entry in self.requests if model is None or entry.model == model]
