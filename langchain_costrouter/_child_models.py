"""A child chat model as the router reads it, and the children it refuses to route to.

The route table (`routes`) names its deployments from their chat model's own fields:
the model id it calls, the provider it talks to, its endpoint and its output cap, read
here without knowing the class (LangChain's chat models spell them differently). A
child built to answer several choices per call, or a `RoutedChatModel` itself, is
refused here when a `Deployment` is made; one that retries on its own is warned about.
"""

from __future__ import annotations

import os
import sys
import warnings

import langchain_core
import pydantic
from langchain_core.language_models import BaseChatModel

from langchain_costrouter.errors import ConfigError

ROUTER_LLM_TYPE = "costrouter"
"""`RoutedChatModel`'s ``_llm_type``: how modules that cannot import the router know one."""


def check_not_a_router(model: BaseChatModel) -> None:
    """A router is refused as a deployment: the outer router would price its calls as an
    unknown model, record them twice on a shared ledger (the inner router's rows and one
    for it as a model), and no budget could reserve its worst case. Its tiers, in the
    outer route, do the same routing with one row per provider call. (Known by its
    ``_llm_type``: this module cannot import the router.)"""
    if model._llm_type == ROUTER_LLM_TYPE:
        raise ConfigError(
            "a RoutedChatModel cannot be a route's deployment: its calls would be priced "
            "as an unknown model and recorded twice. Put its models in this route's tiers "
            "instead (Route(tiers=(Tier.of(cheap, check, threshold), Tier.of(strong))), "
            "its routes as more task labels of one router, or make it a PromptCompressor's "
            "model (compressors=...), where its calls are recorded once."
        )


def check_one_answer(model: BaseChatModel) -> None:
    """A child built to ask for several choices (``ChatOpenAI(n=2)``, or ``n`` in its
    ``model_kwargs``) is refused: every choice is billed, and the router serves, checks,
    caches and records one (a call's own ``n`` is refused the same way)."""
    model_kwargs = getattr(model, "model_kwargs", None)
    for n in (getattr(model, "n", None), (model_kwargs or {}).get("n")):
        if n is not None and not (type(n) is int and n == 1):
            raise ConfigError(
                f"the chat model asks for n={n!r} answers per call; a routed call returns "
                "one, and every choice would be billed. Build it without n (or n=1).",
                key="model",
            )


def model_id_of(model: BaseChatModel) -> str:
    """The model id a chat model calls, e.g. ``gpt-4o-mini``; its class name if none."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type


def output_cap_of(model: BaseChatModel | None) -> int | None:
    """The model's own output cap (``max_tokens``, or ``max_completion_tokens``), if set."""
    for attr in ("max_tokens", "max_completion_tokens"):
        value = getattr(model, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def endpoint_of(model: BaseChatModel | None) -> str | None:
    """The base URL a chat model calls, when it has one (``ChatOpenAI(base_url=...)``)."""
    for attr in ("openai_api_base", "base_url", "api_base", "endpoint"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return None


def provider_of(model: BaseChatModel) -> str:
    """The provider a chat model talks to, from LangSmith params or its type."""
    try:
        provider = model._get_ls_params().get("ls_provider")
    except (AttributeError, NotImplementedError, TypeError):
        provider = None
    return provider or model._llm_type


def warn_if_retrying(label: str, model: BaseChatModel) -> None:
    """Warn about a child that retries on its own: the router should be the only retry loop.

    A child SDK retrying inside the router multiplies latency before a failover and hides
    faults from the circuit breaker. ``max_retries=None`` on ChatOpenAI means the SDK
    default (two retries).
    """
    retries = getattr(model, "max_retries", 0)
    if retries is None or (isinstance(retries, int) and retries > 0):
        warnings.warn(
            f"{label} retries on its own (max_retries={retries}); build it "
            "with max_retries=0 so that the router's retry, failover and circuit breaker "
            "see every fault.",
            UserWarning,
            stacklevel=_callers_level(),
        )


def _library_dirs() -> tuple[str, ...]:
    """The directories of the code between a caller's ``RoutedChatModel(...)`` and the
    warning: this package's (``from_config``, the router's ``__init__``), pydantic's
    (which runs ``model_post_init``) and langchain-core's (its models' ``__init__``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.dirname(os.path.abspath(m.__file__ or "")) for m in (pydantic, langchain_core)]
    return tuple(os.path.join(path, "") for path in (here, *found))


def _callers_level() -> int:
    """The ``stacklevel`` of the first frame outside `_library_dirs`, counted from the
    function that warns: the caller's line that built the router, directly or through
    ``from_config``. A fixed level points elsewhere whenever a frame comes or goes
    between them (pydantic wraps ``model_post_init``; a stacklevel of 5 named pydantic's
    ``main.py``). ``warnings.warn``'s ``skip_file_prefixes`` does this from Python 3.12;
    computed here, it is the same on 3.11."""
    prefixes = _library_dirs()
    frame, level = sys._getframe(1), 1  # the function that warns is level 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(prefixes):
        frame, level = frame.f_back, level + 1
    return level
