"""JSON mode and JSON schema in each child's own dialect.

The router binds OpenAI's ``response_format`` (`_tools.structured_runnable` builds it,
and a caller may bind one by hand): it is what the router's cache key, token counts and
compressor read. An OpenAI-compatible child (langchain-openai's ``BaseChatOpenAI`` and
its subclasses, which `openai_compat` builds too) sends it as it is. Any other child is
asked what LangChain gives it for the same method and schema, its own
``with_structured_output``, and is sent the kwargs that binds instead (Ollama's
``format``, Gemini's ``response_schema``, tool calling for a model that has nothing
else). A child that cannot is refused with `StructuredOutputUnsupportedError`: for the
whole route table when ``response_format`` is bound, else when the call reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBinding, RunnableSequence

from langchain_costrouter._child_models import model_id_of, provider_of
from langchain_costrouter._lazy import class_if_imported
from langchain_costrouter.errors import StructuredOutputUnsupportedError
from langchain_costrouter.router._tools import native_tool_kwargs
from langchain_costrouter.routes import Route

JSON_OBJECT: dict[str, Any] = {"title": "output", "type": "object"}
"""The schema JSON mode stands for where a child's method needs one: any JSON object."""

_ROUTER_ONLY = ("ls_structured_output_format",)
"""What a child's binding carries for tracing, not for its request (the router's own
binding carries it to the caller's callbacks)."""


def native_kwargs(child: BaseChatModel, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The router's call kwargs as ``child`` takes them: tools, then structured output."""
    return native_structured_kwargs(child, native_tool_kwargs(child, kwargs))


def native_structured_kwargs(
    child: BaseChatModel, kwargs: dict[str, Any], task: str | None = None
) -> dict[str, Any]:
    """``kwargs`` with OpenAI's ``response_format`` turned into what ``child`` takes.

    Raises:
        StructuredOutputUnsupportedError: ``child`` cannot answer by that method.
    """
    response_format = kwargs.get("response_format")
    if response_format is None or speaks_openai(child):
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k != "response_format"}
    asked = _asked(response_format)
    if asked is None:  # plain text: every model's default
        return rest
    return {**rest, **_child_binding(child, *asked, task=task)}


def check_routes(routes: Mapping[str, Route], response_format: Any) -> None:
    """Translate ``response_format`` for every child of ``routes`` once, so a child that
    cannot take it is named when it is bound, before any call is paid for."""
    kwargs = {"response_format": response_format}
    for task, route in routes.items():
        for deployment in route.deployments:
            native_structured_kwargs(deployment.model, kwargs, task=task)


def speaks_openai(child: BaseChatModel) -> bool:
    """Whether ``child`` is langchain-openai's client (or a subclass): it sends
    ``response_format`` to its server as OpenAI defines it."""
    openai_model = class_if_imported("langchain_openai.chat_models.base", "BaseChatOpenAI")
    return openai_model is not None and isinstance(child, openai_model)


def _asked(response_format: Any) -> tuple[Any, str, bool | None] | None:
    """The schema, method and ``strict`` that OpenAI's ``response_format`` asks for
    (None for plain text); a bare schema (a class, a JSON schema) is a JSON schema."""
    if not isinstance(response_format, Mapping) or "type" not in response_format:
        return response_format, "json_schema", None
    kind = response_format["type"]
    if kind == "json_object":
        return JSON_OBJECT, "json_mode", None
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema") or {}
    schema = {"title": spec.get("name", "output"), **spec.get("schema", {})}
    if spec.get("description"):
        schema["description"] = spec["description"]
    return schema, "json_schema", spec.get("strict")


def _child_binding(
    child: BaseChatModel, schema: Any, method: str, strict: bool | None, *, task: str | None
) -> dict[str, Any]:
    """The kwargs ``child.with_structured_output`` binds for ``method``."""
    options: dict[str, Any] = {"method": method}
    if strict is not None:
        options["strict"] = strict
    try:
        structured = child.with_structured_output(schema, **options)
    except Exception as error:  # the child's own refusal, whatever its type
        reason = f"with_structured_output refused it: {type(error).__name__}: {error}"
        raise _unsupported(child, method, reason, task) from error
    bound = _bound_kwargs(child, structured)
    if bound is None:
        reason = "with_structured_output binds no kwargs of the model that could be sent"
        raise _unsupported(child, method, reason, task)
    return {k: v for k, v in bound.items() if k not in _ROUTER_ONLY}


def _bound_kwargs(child: BaseChatModel, structured: Runnable[Any, Any]) -> dict[str, Any] | None:
    """The kwargs of the binding of ``child`` that starts ``structured`` (``llm | parser``)."""
    step = structured.first if isinstance(structured, RunnableSequence) else structured
    kwargs: dict[str, Any] = {}
    while isinstance(step, RunnableBinding):
        kwargs = {**step.kwargs, **kwargs}
        step = step.bound
    return kwargs if step is child else None


def _unsupported(
    child: BaseChatModel, method: str, reason: str, task: str | None
) -> StructuredOutputUnsupportedError:
    label = f"{provider_of(child)}/{model_id_of(child)}"
    return StructuredOutputUnsupportedError(
        task, label, method, f"{type(child).__name__}'s {reason}"
    )
