"""The labels of a model call, read from its run's start event (`CostCallbackHandler`).

The end event of a LangChain run carries no metadata, so the task label and the model
asked for are read when the run starts (docs/architecture.md 3.5).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables.config import var_child_runnable_config

_TASK_TAG = "task:"
_TASK_KEY = "task"


def model_name(
    metadata: dict[str, Any], params: dict[str, Any], serialized: dict[str, Any] | None
) -> str | None:
    """The model asked for, until the response names the one that answered."""
    return request_model(metadata, params) or _serialized_name(serialized)


def request_model(metadata: dict[str, Any], params: dict[str, Any]) -> str | None:
    """The model id the run sends (the row's ``request_model``); None when neither its
    LangSmith params nor its invocation params name one."""
    for name in (metadata.get("ls_model_name"), params.get("model"), params.get("model_name")):
        if isinstance(name, str) and name:
            return name
    return None


def _serialized_name(serialized: dict[str, Any] | None) -> str | None:
    serialized = serialized or {}
    name = serialized.get("name") or (serialized.get("id") or [None])[-1]
    return name if isinstance(name, str) else None


def task_label(
    metadata: dict[str, Any],
    tags: list[str] | None,
    run_name: str | None,
    serialized: dict[str, Any] | None,
) -> str | None:
    """Run metadata ``task``, else a ``task:<label>`` tag, else the config's
    ``configurable["task"]`` (`configured_task`), else the run's name."""
    task = _label(metadata.get(_TASK_KEY))
    if task is not None:
        return task
    for tag in tags or ():
        if tag.startswith(_TASK_TAG) and len(tag) > len(_TASK_TAG):
            return tag[len(_TASK_TAG) :]
    return configured_task() or run_name or _serialized_name(serialized)


def configured_task() -> str | None:
    """The ``configurable["task"]`` of the config the run is invoked under, the key
    `RoutedChatModel` reads.

    langchain-core hands a config's ``configurable`` to no callback handler (only
    LangSmith's tracer copies it into its metadata), so it is read where LangChain keeps
    it for the runnables a chain invokes: the child config of the step being run. A
    config given to a bare model's ``invoke``, or to any ``batch``, is kept nowhere a
    handler can read; its label must go in ``metadata`` (docs/architecture.md 3.5).
    """
    config = var_child_runnable_config.get()
    configurable = config.get("configurable") if config else None
    return _label(configurable.get(_TASK_KEY)) if configurable else None


def _label(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
