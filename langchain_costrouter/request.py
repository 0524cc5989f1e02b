"""One routed call as the pipeline carries it from stage to stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_costrouter.metadata import AttemptRecord
from langchain_costrouter.routes import Deployment, Route
from langchain_costrouter.tokens import count_messages


@dataclass(slots=True)
class Request:
    """One routed call: what was asked and what has been spent on it so far."""

    task: str
    route: Route
    messages: list[BaseMessage]
    stop: list[str] | None
    kwargs: dict[str, Any]
    run_id: str
    cache_request: Any = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    """The cascade's attempts so far: kept here so a failed call still reaches the ledger."""
    side_attempts: list[AttemptRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    compress: bool = True
    _prompt_tokens: int | None = None

    @property
    def prompt_tokens(self) -> int:
        if self._prompt_tokens is None:
            self._prompt_tokens = count_messages(self.messages)
        return self._prompt_tokens


def read_run_metadata(request: Request, metadata: dict[str, Any]) -> None:
    """Facts other stages put in run metadata: a batch's size, a compressor's own call."""
    batch_size = metadata.get("batch_size")
    if isinstance(batch_size, int) and batch_size > 0:
        request.extra["batch_size"] = batch_size
    # The compressor may itself be a route of this router: never compress its own call.
    if metadata.get("costrouter_role") == "compressor":
        request.compress = False


def model_max_tokens(deployment: Deployment, default: int) -> int:
    value = getattr(deployment.model, "max_tokens", None)
    return value if isinstance(value, int) and value > 0 else default
