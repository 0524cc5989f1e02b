"""The attributes that open an attempt span, computed once per deployment.

``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model`` and, when
the child calls a base URL, ``server.address`` and ``server.port``: what the conventions
ask for at span creation (they drive sampling). The conventions' model is the id the
request is made with (``deepseek-ai/DeepSeek-V4-Flash``), read from the chat model; the
deployment's own name (a config file's entry, ``deepseek-v4-flash``: what the ledger
and the routes call it) goes beside it as ``costrouter.model``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from langchain_costrouter._child_models import endpoint_of, model_id_of, provider_of
from langchain_costrouter.routes import Deployment
from langchain_costrouter.telemetry import names as n

_DEFAULT_PORTS = {"http": 80, "https": 443}
_KNOWN: dict[str, tuple[tuple[str, Any], ...]] = {}
"""By breaker key (provider, endpoint, model), which fixes every attribute here."""
_REQUESTED: dict[str, str] = {}
"""`requested_model` by breaker key."""


def deployment_attributes(deployment: Deployment) -> dict[str, Any]:
    """A fresh dict of the deployment's attempt span attributes (the caller adds to it)."""
    known = _KNOWN.get(deployment.breaker_key)
    if known is None:
        known = _KNOWN[deployment.breaker_key] = _attributes(deployment)
    return dict(known)


def _attributes(deployment: Deployment) -> tuple[tuple[str, Any], ...]:
    endpoint = endpoint_of(deployment.model)
    parts = urlsplit(endpoint) if endpoint else None
    host = parts.hostname if parts else None
    attributes: list[tuple[str, Any]] = [
        (n.OPERATION, n.CHAT),
        (n.PROVIDER, _provider(deployment, host)),
        (n.REQUEST_MODEL, requested_model(deployment)),
        (n.MODEL, deployment.model_id),
    ]
    if parts and host:
        attributes.append((n.SERVER_ADDRESS, host))
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        if port is not None:
            attributes.append((n.SERVER_PORT, port))
    return tuple(attributes)


def requested_model(deployment: Deployment) -> str:
    """The model id the chat model sends (`model_id_of`); the deployment's name when the
    model has no model field (`model_id_of` then answers its class's ``_llm_type``,
    which names no model). Read once per deployment: every attempt's record carries it
    as ``request_model`` (router/_accounting.py), as its span does."""
    requested = _REQUESTED.get(deployment.breaker_key)
    if requested is None:
        requested = _REQUESTED[deployment.breaker_key] = _requested_model(deployment)
    return requested


def _requested_model(deployment: Deployment) -> str:
    model = deployment.model
    requested = model_id_of(model)
    return deployment.model_id if requested == model._llm_type else requested


def _provider(deployment: Deployment, host: str | None) -> str:
    """``gen_ai.provider.name``, by the conventions' rule: a well-known value wherever one
    applies (they say it MUST then be used), else a custom one.

    The best knowledge comes first: the host a base URL points at (a ChatOpenAI says
    ``openai`` wherever it calls, and api.deepseek.com is DeepSeek), then the provider
    the chat model reports (``ls_provider``: AzureChatOpenAI's ``azure``), then the
    deployment's provider (a config file's table name: ``anthropic``). An
    OpenAI-compatible endpoint of no well-known provider is ``openai``: the conventions
    name the API flavour there and let ``server.address`` tell the hosts apart. With no
    well-known value at all, the deployment's provider as configured.
    """
    for known in (
        n.provider_of_host(host) if host else None,
        n.well_known_provider(provider_of(deployment.model)),
        n.well_known_provider(deployment.provider),
    ):
        if known is not None:
            return known
    return deployment.provider
