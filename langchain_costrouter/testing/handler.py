"""The HTTP side of the test server: one handler thread per connection, OpenAI's wire format.

HTTP/1.1 with ``Content-Length`` bodies and chunked SSE streams, and ``Connection: close``
on every response: LangChain caches one async httpx client per base URL, and a connection
pooled under one test's event loop breaks the next test's loop ("Event loop is closed").
Faults are played here because they are about the connection: error statuses, hangs that
end when the client gives up, broken bodies, dropped sockets.
"""

from __future__ import annotations

import json
import select
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from langchain_costrouter.testing.brain import brain_reply
from langchain_costrouter.testing.replies import (
    CONTEXT_LENGTH_EXCEEDED,
    Fault,
    LoggedRequest,
    Reply,
    ReplySource,
)
from langchain_costrouter.testing.tokens import count_prompt_tokens
from langchain_costrouter.testing.wire import Completion, completion_body, render, stream_chunks

CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_POLL_SECONDS = 0.02
# (error type, default code, default message) per status. The plain 400's message must not
# name the context length: clients and routers read that phrase as an overflow too.
_ERRORS = {
    "400": ("invalid_request_error", None, "Invalid value for a request parameter."),
    "429": ("requests", "rate_limit_exceeded", "Rate limit reached. Please retry after a while."),
    "500": ("server_error", None, "The server had an error while processing your request."),
    "503": ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_OVERFLOW_MESSAGE = "This model's maximum context length was exceeded."


class Behaviour(Protocol):
    """What the handler asks the server object: the answer, delays, and where to log."""

    def next_answer(self, body: dict[str, Any]) -> tuple[Reply | Fault, ReplySource]: ...

    def latency_for(self, model: str | None) -> tuple[float, float]: ...

    def record(self, entry: LoggedRequest) -> None: ...

    def is_closing(self) -> bool: ...

    @property
    def output_cap_fields(self) -> tuple[str, ...]: ...


class ChatServer(ThreadingHTTPServer):
    """A threading HTTP server whose handlers reach the test server's behaviour."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 512  # load tests open hundreds of connections at once

    def __init__(self, address: tuple[str, int], behaviour: Behaviour) -> None:
        super().__init__(address, ChatCompletionsHandler)
        self.behaviour = behaviour


class ChatCompletionsHandler(BaseHTTPRequestHandler):
    """Answers ``POST /v1/chat/completions`` (and ``/chat/completions``)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output is not the place for access logs."""

    def do_POST(self) -> None:
        """Parse, decide, log, then play the answer or the fault."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        if path not in CHAT_PATHS:
            self._send_json(404, _error_body("invalid_request_error", None, f"Unknown path {path}"))
            return
        body = _parse_object(raw)
        if body is None or body.get("n", 1) != 1:
            self._reject(path, body)
            return
        try:
            self._answer(path, body)
        except ConnectionError:
            self.close_connection = True

    def _answer(self, path: str, body: dict[str, Any]) -> None:
        behaviour = self.server.behaviour
        answer, source = behaviour.next_answer(body)
        model = body.get("model")
        stream = bool(body.get("stream"))
        prompt_tokens = count_prompt_tokens(body)
        first_byte, per_chunk = behaviour.latency_for(model)
        if isinstance(answer, Fault):
            behaviour.record(
                LoggedRequest(path, body, model, stream, prompt_tokens, 0, answer.kind, source)
            )
            if self._wait(first_byte):
                self._play_fault(answer, body, prompt_tokens, per_chunk)
            return
        completion = self._render(answer, body, prompt_tokens)
        tokens = completion.usage["completion_tokens"]
        behaviour.record(
            LoggedRequest(path, body, model, stream, prompt_tokens, tokens, "reply", source)
        )
        if self._wait(first_byte + answer.latency):
            self._send_completion(completion, body, per_chunk)

    def _render(self, reply: Reply, body: dict[str, Any], prompt_tokens: int) -> Completion:
        return render(reply, body, prompt_tokens, self.server.behaviour.output_cap_fields)

    def _send_completion(
        self, completion: Completion, body: dict[str, Any], per_chunk: float
    ) -> None:
        if not body.get("stream"):
            self._send_json(200, completion_body(completion))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = [
            json.dumps(chunk) for chunk in stream_chunks(completion, include_usage=include_usage)
        ]
        self._send_events([*events, "[DONE]"], per_chunk)

    def _play_fault(
        self, fault: Fault, body: dict[str, Any], prompt_tokens: int, per_chunk: float
    ) -> None:
        if fault.kind in _ERRORS:
            self._send_error_fault(fault)
        elif fault.kind == "timeout":
            if self._wait(fault.seconds):
                self._send_completion(
                    self._render(brain_reply(body), body, prompt_tokens), body, per_chunk
                )
        elif fault.kind == "malformed":
            self._send_malformed(stream=bool(body.get("stream")))
        elif fault.kind == "error_body":
            self._send_error_body(fault, stream=bool(body.get("stream")))
        else:
            self._drop(fault, body, prompt_tokens)

    def _send_error_fault(self, fault: Fault) -> None:
        error_type, default_code, default_message = _ERRORS[fault.kind]
        code = fault.code or default_code
        if code == CONTEXT_LENGTH_EXCEEDED:
            default_message = _OVERFLOW_MESSAGE
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.kind == "429" else {}
        body = _error_body(error_type, code, fault.message or default_message)
        self._send_json(int(fault.kind), body, headers)

    def _send_malformed(self, *, stream: bool) -> None:
        if stream:
            self._send_events(['{"id": "chatcmpl-broken", "choices": [{"delta": '], 0.0)
            return
        self._send_bytes(
            200, b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{', {}
        )

    def _send_error_body(self, fault: Fault, *, stream: bool) -> None:
        code = fault.code or "502"
        error = {
            "code": int(code) if code.isdigit() else code,
            "message": fault.message or "Provider returned error",
        }
        if stream:
            self._send_events([json.dumps({"error": error}), "[DONE]"], 0.0)
            return
        self._send_json(200, {"error": error})

    def _drop(self, fault: Fault, body: dict[str, Any], prompt_tokens: int) -> None:
        """Close the socket: before any response, or after a few chunks of a stream."""
        if body.get("stream"):
            completion = self._render(fault.reply or brain_reply(body), body, prompt_tokens)
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = stream_chunks(completion, include_usage=usage)[: 1 + fault.after_chunks]
            self._start_events()
            for chunk in chunks:
                self._write_event(json.dumps(chunk))
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _reject(self, path: str, body: dict[str, Any] | None) -> None:
        model = body.get("model") if body else None
        self.server.behaviour.record(
            LoggedRequest(path, body, model, False, 0, 0, "bad_request", None)
        )
        message = "The test server supports only n=1." if body else "The body is not a JSON object."
        self._send_json(400, _error_body("invalid_request_error", None, message))

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False as soon as the client hangs up or the server stops.

        Giving up closes the connection, so a client still waiting sees it end.
        """
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.server.behaviour.is_closing() or self._client_gone(
                min(_POLL_SECONDS, remaining)
            ):
                self.close_connection = True
                return False
        return True

    def _client_gone(self, timeout: float) -> bool:
        readable, _, _ = select.select([self.connection], [], [], timeout)
        if not readable:
            return False
        try:
            gone = not self.connection.recv(1, socket.MSG_PEEK)
        except ConnectionError:
            return True
        if not gone:
            time.sleep(timeout)
        return gone

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(body, ensure_ascii=False).encode(), headers or {})

    def _send_bytes(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_events(self, events: list[str], per_chunk: float) -> None:
        self._start_events()
        for index, event in enumerate(events):
            if index and per_chunk and not self._wait(per_chunk):
                return
            self._write_event(event)
        self.wfile.write(b"0\r\n\r\n")

    def _start_events(self) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_event(self, data: str) -> None:
        """Write one SSE event as one HTTP chunk, flushed so the client sees it now."""
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()


def _parse_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _error_body(error_type: str, code: str | None, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}
