"""Credentials kept out of everything the package shows or keeps: names, store URLs.

A cache key, a ledger row, a log line, a warning, an error message, a span and a repr
may all mention a call's parameters, a store's URL or a provider's error; none may
carry a credential. Parameters are recognised by name (`is_secret_name`), store URLs
are shown with their password and any credential passed as a query parameter masked
(`shown_url`), and a provider's error text loses the keys its model holds and anything
shaped like an API key (`error_text`): some OpenAI-compatible servers echo the key
they were sent ("Incorrect API key provided: sk-...").
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretBytes, SecretStr

_SECRET_NAME = re.compile(
    r"passw(or)?d"  # anywhere: sslpassword (libpq), dbPassword...
    r"|(^|[-_.])(api[-_]?key|secret|authorization|access[-_]?token|auth[-_]?token"
    r"|session[-_]?token|private[-_]?key|bearer|cookie)($|[-_.])",
    re.IGNORECASE,
)
"""Credential names as parameters and as HTTP headers spell them: ``api_key``, ``apiKey``,
``x-api-key`` (Anthropic), ``api-key`` (Azure OpenAI), ``Authorization``, ``sslpassword``..."""

MASK = "***"

_KEY_SHAPES = re.compile(
    r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{12,}"  # OpenAI, Anthropic (sk-ant-...), Stripe-style
    r"|\bAIza[0-9A-Za-z_\-]{20,}"  # Google
    r"|(?i:\bbearer)\s+[A-Za-z0-9._~+/=\-]{8,}"
)
"""Credentials recognisable by their shape, whoever's they are."""
_SHORTEST_SECRET = 8
"""Shorter values (placeholder keys such as "x" or "test") would mask ordinary words."""


@functools.lru_cache(maxsize=4096)  # few distinct parameter names; every cache key checks each
def is_secret_name(name: str) -> bool:
    """Tell whether a parameter name denotes a credential (``api_key``, ``Authorization``...)."""
    return _SECRET_NAME.search(name) is not None


_CREDENTIAL_WORD = re.compile(
    r"key|token|auth|secret|passw|sig|credential|cookie|session|code", re.IGNORECASE
)
"""Words of the names gateways give their keys as they like: ``Ocp-Apim-Subscription-Key``,
``Helicone-Auth``, an Azure SAS ``?sig=``, an Azure Functions ``?code=``."""

_OPAQUE_RUN = re.compile(r"[A-Za-z0-9]{24,}")
"""A run of letters and digits as long as a key's; one mixing both reads as a key."""


def public_options(options: Mapping[str, object]) -> dict[str, object]:
    """The entries of a header or query-option mapping (``default_headers``,
    ``default_query``) that cannot be credentials, for a cache key to tell models apart by.

    Stricter than `is_secret_name`: an entry goes when its name holds any credential word
    (`_CREDENTIAL_WORD`), or its value is shaped like a key (`redacted` would mask it) or
    holds an opaque run of letters and digits. A setting dropped by mistake only keys two
    children that differ in it alike; a route's ``version`` still tells them apart.
    """
    return {
        name: value
        for name, value in options.items()
        if not (
            _CREDENTIAL_WORD.search(str(name))
            or isinstance(value, SecretStr | SecretBytes)
            or _looks_like_a_key(str(value))
        )
    }


def _looks_like_a_key(value: str) -> bool:
    if _KEY_SHAPES.search(value) is not None:
        return True
    runs = (run.group() for run in _OPAQUE_RUN.finditer(value))
    return any(not run.isalpha() and not run.isdigit() for run in runs)


def shown_url(url: str) -> str:
    """``url`` as a message or a repr may show it: the password and credential options masked.

    Both places a driver takes a password from are covered: the user-info part
    (``redis://:pw@host``) and query options (``?password=pw``, which redis-py and
    libpq accept). Anything that is not a URL shows only its scheme.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("://", 1)[0] + "://..." if "://" in url else "(not a URL)"
    netloc = parts.netloc
    if password is not None:
        netloc = netloc.replace(f":{password}@", f":{MASK}@", 1)
    query = parts.query
    options = parse_qsl(query, keep_blank_values=True)
    if any(is_secret_name(name) for name, _ in options):
        masked = [(name, MASK if is_secret_name(name) else value) for name, value in options]
        query = urlencode(masked, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url  # untouched: not even urlunsplit's normalisation (sqlite:/// stays)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@functools.lru_cache(maxsize=256)  # one per deployment: a breaker's transitions repeat it
def shown_breaker_key(key: str) -> str:
    """A circuit breaker's key (``provider|endpoint|model``, see
    `langchain_costrouter.routes.Deployment`) as a metric may carry it: the endpoint is a
    base URL, which may hold a proxy's password or an ``api-key`` option."""
    provider, _, rest = key.partition("|")
    endpoint, _, model = rest.rpartition("|")
    if not endpoint:
        return key
    return f"{provider}|{redacted(shown_url(endpoint))}|{model}"


def error_text(error: BaseException, model: object, limit: int = 300) -> str:
    """A provider's error as messages, spans and stored rows may show it: ``str(error)``
    without ``model``'s credentials, the password of any URL in it (a gateway may echo
    the proxy URL it was called at) or anything shaped like a key, cut to ``limit``."""
    return redacted(url_passwords_masked(str(error)), secret_values(model))[:limit]


def redacted(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and anything shaped like an API key masked."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _KEY_SHAPES.sub(MASK, text)


def url_passwords_masked(text: str) -> str:
    """``text`` (a driver's message, which may quote the URL it could not parse) with the
    password of every ``scheme://user:PASSWORD@`` in it masked."""
    return _PASSWORD_IN_URL.sub(rf"\1{MASK}@", text)


_PASSWORD_IN_URL = re.compile(r"(\w[\w+.-]*://[^\s:/@]*:)[^\s@]+@")


def secret_values(model: object) -> list[str]:
    """The credentials a chat model holds: its secret fields (``api_key``), a key it reads
    from the environment at request time (a config file's model holds
    `langchain_costrouter.config_models.EnvAPIKey`, a callable naming its ``env_var``),
    and the values of credential-named headers or options in its mappings
    (``default_headers``), and the password of a URL it holds (a proxy's ``base_url``)."""
    found: list[str] = []
    for value in getattr(model, "__dict__", {}).values():
        if isinstance(value, str) and "@" in value:
            found.extend(_url_password(value))
        elif isinstance(value, SecretStr | SecretBytes):
            found.append(_plain(value.get_secret_value()))
        elif callable(value) and isinstance(env_var := getattr(value, "env_var", None), str):
            found.append(os.environ.get(env_var, ""))
        elif isinstance(value, Mapping):
            found.extend(
                _plain(item)
                for name, item in value.items()
                if isinstance(name, str) and is_secret_name(name) and item
            )
    return [secret for secret in found if len(secret) >= _SHORTEST_SECRET]


def _url_password(value: str) -> list[str]:
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    return [password] if password else []


def env_secrets(*names: str | None) -> list[str]:
    """The values of the environment variables ``names`` (those holding keys), to mask in
    a message; an unset one, or one too short to mask without masking words, is left out."""
    values = (os.environ.get(name, "") for name in names if name)
    return [value for value in values if len(value) >= _SHORTEST_SECRET]


def _plain(value: object) -> str:
    if isinstance(value, SecretStr | SecretBytes):
        value = value.get_secret_value()
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
