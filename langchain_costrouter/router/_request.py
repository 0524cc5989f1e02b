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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.messages import BaseMessage, BaseMessageChunk
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.runnables.config import var_child_runnable_config

from langchain_costrouter.budgets import CallContext, Reservation
from langchain_costrouter.cache import CacheRequest
from langchain_costrouter.errors import InvalidRequestError, UnknownTaskError
from langchain_costrouter.metadata import (
    ITEM_PROMPT_TOKENS_KEY,
    PURPOSE_KEY,
    PURPOSES,
    AttemptRecord,
    Purpose,
)
from langchain_costrouter.router._input import check_one_answer, check_sendable
from langchain_costrouter.router._steps import CallModel
from langchain_costrouter.routes import Route, pinned_route
from langchain_costrouter.telemetry.calls import CallTrace
from langchain_costrouter.tokens import count_messages, count_prompt_kwargs

TASK_KEY = "task"
CONFIG_TASK_KEY = "costrouter_config_task"
"""Where `with_task` puts the config's label: below the kwarg and run metadata."""
RUN_METADATA_KEY = "costrouter_run_metadata"
"""Where `with_run_metadata` puts a stream's run metadata (see there)."""

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
        """The task label and route of a call; an unknown label names the known ones.

        A label given that is not a non-empty string (an ``Enum`` member, a number, "")
        is refused, never read as no label: the call would go to the default route, its
        budget and its ledger rows, silently.
        """
        given = (metadata.get(TASK_KEY) if metadata else None) if explicit is None else explicit
        task = configured if given is None else given
        if task is not None and not (isinstance(task, str) and task):
            raise InvalidRequestError(
                f"A task label must be a non-empty string, got {task!r} "
                f"({type(task).__name__}). Pass one of {', '.join(sorted(self.routes))} "
                "(for an Enum, its .value, or make it a str Enum)."
            )
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
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The run's metadata (a budget's scope may be one of its keys, e.g. ``tenant``)."""
    compress: bool = True
    held: Reservation | None = None
    """Budget held for the attempt under way, settled when it ends (or by the driver)."""
    in_flight: CallModel | None = None
    """The provider call under way: a call cancelled meanwhile is still billed."""
    delivered: list[BaseMessageChunk] = field(default_factory=list)
    """What the stream in flight has received so far, shown to the caller or still held
    back (billed if it is cut: a usage chunk among them is used)."""
    trace: CallTrace | None = None
    """What the router's telemetry notes of the call; None when nothing reports."""
    _prompt_tokens: int | None = None

    @property
    def prompt_tokens(self) -> int:
        """Estimated prompt tokens as they will be sent and billed: the messages, and the
        tools and response format sent with them. A budget's reservation, a rate limit's
        tokens and a ``max_cost_usd`` estimate all start here; without the tools, a
        capped call with a dozen of them settled at ten times its reservation."""
        if self._prompt_tokens is None:
            self._prompt_tokens = count_messages(self.messages) + count_prompt_kwargs(self.kwargs)
        return self._prompt_tokens

    def budget_context(self) -> CallContext:
        """What decides which budget accounts the call draws on: its task and metadata."""
        return CallContext(task=self.task, metadata=self.metadata)

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
    passed = kwargs.pop(RUN_METADATA_KEY, None)
    metadata = run_manager.metadata if run_manager else (passed or {})
    task, route = table.route_for(
        kwargs.pop(TASK_KEY, None), metadata, kwargs.pop(CONFIG_TASK_KEY, None)
    )
    kwargs.pop("stream", None)
    check_one_answer(kwargs)
    if "model" in kwargs:
        route = pinned_route(table.routes.values(), kwargs.pop("model"))
    run_id = str(run_manager.run_id) if run_manager else str(uuid.uuid4())
    request = Request(task, route, messages, stop, kwargs, run_id, metadata=metadata)
    _read_run_metadata(request, metadata)
    return request


def with_task(config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pass the config's task label along with the call, unless the call names one."""
    if TASK_KEY in kwargs:
        return kwargs
    if config is None and var_child_runnable_config.get() is None:
        return kwargs  # a top-level call with no config: no label to pass
    return {**kwargs, CONFIG_TASK_KEY: task} if (task := config_task(config)) else kwargs


def with_run_metadata(
    config: RunnableConfig | None, kwargs: dict[str, Any], local: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`with_task`, and the run metadata a stream's run manager would carry.

    LangChain hands ``_stream`` and ``_astream`` no run manager, so a streamed call saw
    no metadata: its per-tenant budgets drew on the ``tenant=<none>`` account every
    tenant shares. The metadata is merged as LangChain merges a run's: the parent run's
    (a chain's), the config's, then the model's own (``local``).
    """
    kwargs = with_task(config, kwargs)
    config = ensure_config(config)
    callbacks = config.get("callbacks")
    inherited = callbacks.metadata if isinstance(callbacks, BaseCallbackManager) else {}
    metadata = {**inherited, **(config.get("metadata") or {}), **(local or {})}
    return {**kwargs, RUN_METADATA_KEY: metadata} if metadata else kwargs


def config_task(config: RunnableConfig | None) -> str | None:
    """The label a config carries: its metadata's, else its ``configurable``'s."""
    config = ensure_config(config)
    return _label_in(config.get("metadata")) or _label_in(config.get("configurable"))


def _read_run_metadata(request: Request, metadata: Mapping[str, Any]) -> None:
    """Facts run metadata carries: the call's purpose, a batch's size and per-item prompts
    (the calls a batch replaced), and whether this is a compressor's own call."""
    extra = request.extra
    extra["purpose"] = _purpose(metadata.get(PURPOSE_KEY, "production"))
    if (policy := request.route.options.get("policy")) is not None:
        extra["policy"] = str(policy)
    batch_size = metadata.get("batch_size")
    if isinstance(batch_size, int) and batch_size > 0:
        extra["batch_size"] = batch_size
        items = metadata.get(ITEM_PROMPT_TOKENS_KEY)
        if type(items) is int and items >= 0:  # 0: items sent again, counted before
            extra["item_prompt_tokens"] = items
    # The compressor may itself be a route of this router: never compress its own call.
    if metadata.get("costrouter_role") == "compressor":
        request.compress = False


def _purpose(value: Any) -> Purpose:
    if value not in PURPOSES:
        raise InvalidRequestError(
            f"run metadata {PURPOSE_KEY}={value!r} is not a purpose; use one of {PURPOSES}"
        )
    return value  # type: ignore[no-any-return]


def _label(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _label_in(mapping: Mapping[str, Any] | None) -> str | None:
    return _label(mapping.get(TASK_KEY)) if mapping else None
