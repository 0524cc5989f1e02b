"""What one routed call asks for, settled before any I/O: task label, route, kwargs.

The task label comes from, in order: the call's ``task`` kwarg, the run's metadata,
the config's metadata or ``configurable``, then the router's default task. The
façade passes a config's label along in the kwargs itself (`with_task`), because
``stream()`` hands ``_stream`` no run manager to read the config from.

A `Request` then travels the whole flow: the stages replace its messages (compression)
and append what each attempt spent, so a call that ends in an error still leaves its
attempts for the ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage, BaseMessageChunk
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.runnables.config import var_child_runnable_config

from langchain_costrouter.cache import CacheRequest
from langchain_costrouter.errors import InvalidRequestError, UnknownTaskError
from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.routes import Deployment, Route, pinned_route
from langchain_costrouter.tokens import count_messages

TASK_KEY = "task"
CONFIG_TASK_KEY = "costrouter_config_task"
"""Where `with_task` puts the config's label: below the kwarg and run metadata."""

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun


@dataclass(frozen=True, slots=True)
class RouteTable:
    """The router's routes and how a call's label picks one (built once per router)."""

    routes: Mapping[str, Route]
    default_task: str | None
    unknown_task: Literal["error", "default"]

    def route_for(
        self, explicit: Any, metadata: Mapping[str, Any] | None, configured: Any = None
    ) -> tuple[str, Route]:
        """The task label and route of a call; an unknown label names the known ones."""
        task = _label(explicit) or _label_in(metadata) or _label(configured)
        if task is None:
            if self.default_task is None:
                raise UnknownTaskError("<none given>", self.routes)
            task = self.default_task
        route = self.routes.get(task)
        if route is not None:
            return task, route
        if self.unknown_task == "default" and self.default_task is not None:
            return self.default_task, self.routes[self.default_task]
        raise UnknownTaskError(task, self.routes)


@dataclass(slots=True)
class InFlight:
    """A provider call under way, and the chunks it has streamed to the caller so far.

    Read when the call is cancelled or its stream is cut: what was delivered is still
    paid for, so it is priced (estimated) for the ledger.
    """

    deployment: Deployment
    tier: int
    chunks: list[BaseMessageChunk] = field(default_factory=list)


@dataclass(slots=True)
class Request:
    """One routed call: what was asked and what has been spent on it so far."""

    task: str
    route: Route
    messages: list[BaseMessage]
    stop: list[str] | None
    kwargs: dict[str, Any]
    """Call kwargs for the child: tools, response format, sampling parameters."""
    run_id: str
    cache_key: CacheRequest | None = None
    """The call's cache identity; None when the call is not cached."""
    attempts: list[AttemptRecord] = field(default_factory=list)
    """Every attempt so far, side calls (compressor, judge) included, in order."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Facts for the record: a batch's size, what compression saved."""
    compress: bool = True
    in_flight: InFlight | None = None
    _prompt_tokens: int | None = None

    @property
    def prompt_tokens(self) -> int:
        """Estimated prompt tokens of the messages as they will be sent."""
        if self._prompt_tokens is None:
            self._prompt_tokens = count_messages(self.messages)
        return self._prompt_tokens

    def replace_messages(self, messages: list[BaseMessage]) -> None:
        """Send ``messages`` instead (a compressed prompt)."""
        self.messages = messages
        self._prompt_tokens = None


def begin(
    table: RouteTable,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: RunManager | None,
    kwargs: dict[str, Any],
) -> Request:
    """Resolve the task and route, and split the call's own kwargs from the child's.

    ``kwargs`` is the call's own ``**kwargs`` dict: what is left of it goes to the child.
    """
    check_sendable(messages)
    metadata = run_manager.metadata if run_manager else {}
    task, route = table.route_for(
        kwargs.pop(TASK_KEY, None), metadata, kwargs.pop(CONFIG_TASK_KEY, None)
    )
    kwargs.pop("stream", None)
    if "model" in kwargs:
        route = pinned_route(table.routes.values(), kwargs.pop("model"))
    run_id = str(run_manager.run_id) if run_manager else str(uuid.uuid4())
    request = Request(task, route, messages, stop, kwargs, run_id)
    _read_run_metadata(request, metadata)
    return request


def check_sendable(messages: Sequence[BaseMessage]) -> None:
    """Refuse text no provider accepts (lone surrogates) before any provider call.

    Such text reaches Python from bad decoding (``errors="surrogateescape"``) and fails
    deep inside the HTTP client otherwise, after the router has started paying.
    """
    for index, message in enumerate(messages):
        content = message.content
        if isinstance(content, str):
            if not content.isascii():
                _check_encodable(index, message, content)
            continue
        for text in _texts(content):
            if not text.isascii():
                _check_encodable(index, message, text)


def with_task(config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pass the config's task label along with the call, unless the call names one."""
    if TASK_KEY in kwargs:
        return kwargs
    if config is None and var_child_runnable_config.get() is None:
        return kwargs  # a top-level call with no config: no label to pass
    return {**kwargs, CONFIG_TASK_KEY: task} if (task := config_task(config)) else kwargs


def config_task(config: RunnableConfig | None) -> str | None:
    """The label a config carries: its metadata's, else its ``configurable``'s."""
    config = ensure_config(config)
    return _label_in(config.get("metadata")) or _label_in(config.get("configurable"))


def _read_run_metadata(request: Request, metadata: Mapping[str, Any]) -> None:
    """Facts other stages put in run metadata: a batch's size, a compressor's own call."""
    batch_size = metadata.get("batch_size")
    if isinstance(batch_size, int) and batch_size > 0:
        request.extra["batch_size"] = batch_size
    # The compressor may itself be a route of this router: never compress its own call.
    if metadata.get("costrouter_role") == "compressor":
        request.compress = False


def _label(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _label_in(mapping: Mapping[str, Any] | None) -> str | None:
    return _label(mapping.get(TASK_KEY)) if mapping else None


def _texts(content: list[Any]) -> list[str]:
    return [part["text"] if isinstance(part, dict) else part for part in content if _is_text(part)]


def _is_text(part: Any) -> bool:
    return isinstance(part, str) or (isinstance(part, dict) and isinstance(part.get("text"), str))


def _check_encodable(index: int, message: BaseMessage, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequestError(
            f"message {index} ({message.type}) has a lone surrogate "
            f"{text[error.start]!r} at character {error.start}, which no provider accepts. "
            "Fix how the text was decoded (e.g. bytes.decode('utf-8', errors='replace')) "
            "before sending it."
        ) from None
