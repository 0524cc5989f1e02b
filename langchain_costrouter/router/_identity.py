"""A route's identity, part of every cache key: its version and what each child answers with.

An answer is replayed only to a route that would have given it: an app that moves a task
to another model, another temperature or another gateway deployment, and two apps sharing
one Redis cache under the same task label, never serve each other's answers (a config
file has no route version to bump by hand). A child is told apart by its class, label,
endpoint, the parameters it identifies itself by, and the settings of `_ANSWER_SETTINGS`
and `_OPTION_SETTINGS` that its ``_identifying_params`` leave out; never by a credential
(`langchain_costrouter._secrets.public_options`), so a rotated key keeps its entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from langchain_core.language_models import BaseChatModel

from langchain_costrouter._child_models import endpoint_of
from langchain_costrouter._secrets import public_options
from langchain_costrouter.cache.canonical import JsonValue, canonical, canonical_params
from langchain_costrouter.cache.keys import digest
from langchain_costrouter.routes import PINNED, Deployment, Route

Form = dict[str, JsonValue]

_ANSWER_SETTINGS: Mapping[str, object] = {
    "use_responses_api": None,  # False too is a choice: None picks by model and request
    "output_version": None,  # the message's content format ("v1", "responses/v1")
    "use_previous_response_id": False,  # only the turns after the last response id are sent
    "include_response_headers": False,  # the answer's metadata carries the response headers
    "disabled_params": None,  # what a bound call leaves out (``parallel_tool_calls``)
    "openai_api_version": None,  # Azure: each API version answers in its own shape
}
"""ChatOpenAI (and AzureChatOpenAI) settings that change the answer but not
``_identifying_params``, each with its unset value. Read from any child that has them; an
unset one stays out, so the key of a child without them does not depend on this list."""

_OPTION_SETTINGS = ("default_headers", "default_query", "extra_headers", "extra_query")
"""Headers and query options sent with every call: a gateway may pick the model version or
deployment by one. Credentials among them never count (`public_options`)."""

_HOW_IT_ARRIVES = ("stream", "streaming")
"""How the answer arrives, not what it says."""


class Identities:
    """One cache's route identities: a route's worked out once (a pinned route of a call is
    new each time), a child's form once for every route it serves in.

    The hot path reads the route's entry; a child's settings are read once, so a child
    changed in place after its first call keeps the identity it had (build a new one).
    """

    __slots__ = ("_forms", "_routes")

    def __init__(self) -> None:
        self._routes: dict[int, tuple[Route, str]] = {}
        """`route_identity` by route (its id; the route kept so the id is never reused)."""
        self._forms: dict[int, tuple[Deployment, Form]] = {}
        """`deployment_form` by deployment, the same way."""

    def of(self, route: Route) -> str:
        known = self._routes.get(id(route))
        if known is not None and known[0] is route:
            return known[1]
        identity = route_identity(route, self._form)
        if not route.version.startswith(PINNED):
            self._routes[id(route)] = (route, identity)
        return identity

    def _form(self, deployment: Deployment) -> Form:
        known = self._forms.get(id(deployment))
        if known is not None and known[0] is deployment:
            return known[1]
        form = deployment_form(deployment)
        self._forms[id(deployment)] = (deployment, form)
        return form


def route_identity(route: Route, form_of: Callable[[Deployment], Form] | None = None) -> str:
    """The route's version and the forms of its tiers' deployments, as a digest."""
    form = form_of or deployment_form
    tiers = [[form(d) for d in tier.deployments] for tier in route.tiers]
    return f"{route.version}|{digest({'version': route.version, 'tiers': tiers})}"


def deployment_form(deployment: Deployment) -> Form:
    """What a child answers with: its class (a subclass may send another request), label,
    parameters, answer-changing settings and public endpoint; never a credential."""
    model = deployment.model
    kind = type(model)
    form: Form = {
        "label": deployment.label,
        "class": f"{kind.__module__}.{kind.__qualname__}",
        "params": _params(model),
    }
    if settings := _settings(model):
        form["settings"] = settings
    if (endpoint := endpoint_of(model)) is not None:
        form["endpoint"] = _public_endpoint(endpoint)
    return form


def _params(model: BaseChatModel) -> Form:
    try:
        params = dict(model._identifying_params)
        for name in _OPTION_SETTINGS:  # ``model_kwargs`` lands here: extra_headers...
            if isinstance(options := params.get(name), Mapping):
                params[name] = public_options(options)
        found = canonical_params(params)
    except Exception:  # no stable JSON form, or a model that cannot tell: its label alone
        return {}
    for name in _HOW_IT_ARRIVES:
        found.pop(name, None)
    return found


def _settings(model: BaseChatModel) -> Form:
    found: Form = {}
    for name, unset in _ANSWER_SETTINGS.items():
        value = getattr(model, name, unset)
        if value is not unset:
            found[name] = _stable(value, name)
    for name in _OPTION_SETTINGS:
        options = getattr(model, name, None)
        if isinstance(options, Mapping) and (public := public_options(options)):
            found[name] = _stable(public, name)
    azure = getattr(model, "azure_endpoint", None)  # Azure's base URL, if it has no other
    if isinstance(azure, str) and azure:
        found["azure_endpoint"] = _public_endpoint(azure)
    return found


def _stable(value: object, name: str) -> JsonValue:
    """``value``'s JSON form; its type's name when it has none (no memory address)."""
    try:
        return canonical(value, path=name)
    except TypeError:
        return f"({type(value).__qualname__})"


def _public_endpoint(url: str) -> str:
    """Scheme, host, port and path of a base URL: a proxy's password in its user info
    and a key in its query (Azure's ``?api-key=``) are credentials, not the endpoint."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # IPv6
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    except ValueError:  # a malformed port or IPv6 host: as it is, it might hold a secret
        return "(not a URL)"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
