"""A real Anthropic-compatible Messages API server on loopback, for the real ``ChatAnthropic``.

Tests talk to it through ``ChatAnthropic(base_url=server.base_url, api_key="test")``, so
the anthropic SDK (its SSE parsing, its errors), httpx and langchain-anthropic's
conversion all run for real. It answers ``POST /v1/messages`` whole (JSON) or streamed
(SSE, the events in Anthropic's order: testing/anthropic_wire.py), with scripted answers
in order, else a fixed greeting. It plays Anthropic's two ways of failing: an HTTP error
status (`AnthropicHTTPError`, 529 overloaded by default), and an ``error`` event inside
an HTTP 200 stream (`AnthropicErrorEvent`), which Anthropic sends for an overload
routinely, even as a stream's first event. Every request body is logged (``requests``).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from langchain_costrouter.testing.anthropic_wire import (
    ERROR_STATUS,
    error_body,
    message_body,
    stream_events,
)
from langchain_costrouter.testing.replies import Reply

DEFAULT_ANTHROPIC_TEXT = "Hello from the local Anthropic server."
"""What the server answers when no script applies."""

MESSAGES_PATH = "/v1/messages"


@dataclass(frozen=True)
class AnthropicErrorEvent:
    """An ``event: error`` inside an HTTP 200 stream, after which the stream ends.

    Args:
        type: Anthropic's error type: ``overloaded_error``, ``api_error``,
            ``invalid_request_error``...
        message: The error's message.
        after_events: How many events of the answer come first: 0 makes the error the
            stream's first event; 1 sends ``message_start`` first; 3, ``message_start``,
            ``content_block_start`` and the first word.
        reply: The answer those events come from (default: the server's own).

    A request that does not stream is answered with the HTTP status of ``type``
    (`anthropic_wire.ERROR_STATUS`), as Anthropic would.
    """

    type: str = "overloaded_error"
    message: str = "Overloaded"
    after_events: int = 0
    reply: Reply | None = None


@dataclass(frozen=True)
class AnthropicHTTPError:
    """An HTTP error status with Anthropic's error body, streamed or not."""

    status: int = 529
    type: str = "overloaded_error"
    message: str = "Overloaded"


Answer = Reply | AnthropicErrorEvent | AnthropicHTTPError


class LocalAnthropicServer:
    """An Anthropic Messages API server on ``127.0.0.1`` (port chosen by the OS).

    Use as a context manager, or ``start()``/``stop()``; thread-safe. Only the text of
    a `Reply` is played (with its token counts and ``finish_reason`` as the stop reason).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._script: deque[Answer] = deque()
        self._log: list[dict[str, Any]] = []
        self._http = _Server((host, port), self)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """``ChatAnthropic``'s ``base_url``, e.g. ``http://127.0.0.1:40123`` (the SDK adds
        ``/v1/messages``)."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def script(self, answers: Iterable[Answer]) -> None:
        """Queue answers, consumed one per request in order."""
        with self._lock:
            self._script.extend(answers)

    def reset(self) -> None:
        """Forget the script and the request log."""
        with self._lock:
            self._script.clear()
            self._log.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The request bodies received, oldest first."""
        with self._lock:
            return list(self._log)

    def request_count(self) -> int:
        return len(self.requests)

    def next_answer(self, body: dict[str, Any]) -> Answer:
        """Log ``body`` and decide its answer (called by the HTTP handler)."""
        with self._lock:
            self._log.append(body)
            return self._script.popleft() if self._script else Reply(DEFAULT_ANTHROPIC_TEXT)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: LocalAnthropicServer) -> None:
        super().__init__(address, _MessagesHandler)
        self.owner = owner


class _MessagesHandler(BaseHTTPRequestHandler):
    """``POST /v1/messages``; ``Connection: close`` on every response, as the OpenAI test
    server's handler does (testing/handler.py): an async client pooled under one test's
    event loop must not be reused by the next test's."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output is not the place for access logs."""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0] != MESSAGES_PATH:
            self._send_json(404, error_body("not_found_error", f"Unknown path {self.path}"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_json(400, error_body("invalid_request_error", "The body is not an object."))
            return
        answer = self.server.owner.next_answer(body)
        if isinstance(answer, AnthropicHTTPError):
            self._send_json(answer.status, error_body(answer.type, answer.message))
        elif isinstance(answer, AnthropicErrorEvent) and not body.get("stream"):
            self._send_json(
                ERROR_STATUS.get(answer.type, 500), error_body(answer.type, answer.message)
            )
        elif isinstance(answer, AnthropicErrorEvent):
            events = stream_events(answer.reply or Reply(DEFAULT_ANTHROPIC_TEXT), body)
            error = ("error", error_body(answer.type, answer.message))
            self._send_events([*events[: answer.after_events], error])
        elif body.get("stream"):
            self._send_events(stream_events(answer, body))
        else:
            self._send_json(200, message_body(answer, body))

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """HTTP 200 and each event as one flushed chunk, so the client reads it at once."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for name, data in events:
            payload = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
