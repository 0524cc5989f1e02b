"""The attributes that open an attempt span, computed once per deployment.

``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model`` and, when
the child calls a base URL, ``server.address`` and ``server.port``: what the conventions
ask for at span creation (they drive sampling).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from langchain_costrouter.routes import Deployment, endpoint_of
from langchain_costrouter.telemetry import names as n

_DEFAULT_PORTS = {"http": 80, "https": 443}
_KNOWN: dict[str, tuple[tuple[str, Any], ...]] = {}
"""By breaker key (provider, endpoint, model), which fixes every attribute here."""


def deployment_attributes(deployment: Deployment) -> dict[str, Any]:
    """A fresh dict of the deployment's attempt span attributes (the caller adds to it)."""
    known = _KNOWN.get(deployment.breaker_key)
    if known is None:
        known = _KNOWN[deployment.breaker_key] = _attributes(deployment)
    return dict(known)


def _attributes(deployment: Deployment) -> tuple[tuple[str, Any], ...]:
    attributes: list[tuple[str, Any]] = [
        (n.OPERATION, n.CHAT),
        (n.PROVIDER, n.provider_name(deployment.provider)),
        (n.REQUEST_MODEL, deployment.model_id),
    ]
    endpoint = endpoint_of(deployment.model)
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.hostname:
            attributes.append((n.SERVER_ADDRESS, parts.hostname))
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
            if port is not None:
                attributes.append((n.SERVER_PORT, port))
    return tuple(attributes)
