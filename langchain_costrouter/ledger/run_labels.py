"""The labels of a model call, read from its run's start event (`CostCallbackHandler`).

The end event of a LangChain run carries no metadata, so the task label and the model
asked for are read when the run starts (docs/architecture.md 3.5).
"""

from __future__ import annotations

from typing import Any

_TASK_TAG = "task:"


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
    """Run metadata ``task``, else a ``task:<label>`` tag, else the run's name."""
    task = metadata.get("task")
    if isinstance(task, str) and task:
        return task
    for tag in tags or ():
        if tag.startswith(_TASK_TAG) and len(tag) > len(_TASK_TAG):
            return tag[len(_TASK_TAG) :]
    return run_name or _serialized_name(serialized)
