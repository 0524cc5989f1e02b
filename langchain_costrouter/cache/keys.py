"""Canonical cache keys: one request, one key, in every process on every machine.

The key covers everything that shapes an answer (the anchors' wrong-answer bugs were
keys that forgot the system prompt or the temperature): every message with its role,
name, tool calls and tool-call ids, the task label, the route/policy version, the
tenant namespace and every generation parameter, including tools, ``tool_choice``,
``response_format`` and provider-specific kwargs. Message ids are left out: they are
assigned per run and would make every key unique.

Normalisation is a per-task decision (see `Normalization`): a classifier may treat
"Is it SPAM?" and "is it spam?" alike, a code task must not. The default only strips
leading and trailing whitespace of each text part, which no chat model reads as
meaning; everything else is exact.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_costrouter.cache.canonical import JsonValue, canonical, canonical_params

KEY_VERSION = 2
"""Bumped whenever the key payload changes shape, so old entries are never misread."""

_WHITESPACE_RUN = re.compile(r"\s+")

# Message types whose form is role and content alone when they carry no name or kwargs
# (not AIMessage: its tool calls are part of the form).
_PLAIN_TEXT_TYPES = frozenset({HumanMessage, SystemMessage})


@dataclass(frozen=True)
class Normalization:
    """How much of a prompt's text form a task treats as meaningless.

    Only message text (string content and ``text`` blocks) is normalised; tool-call
    arguments, schemas and parameters are always exact.

    Attributes:
        whitespace: ``"exact"``; ``"strip"`` (default) drops leading and trailing
            whitespace of each text part; ``"collapse"`` also turns every inner run of
            whitespace into one space (fine for prose, wrong for code or tables).
        case: ``"exact"`` (default) or ``"fold"`` (Unicode casefold; for
            classification-like tasks whose answer does not depend on case).
        unicode: ``None`` (default), ``"NFC"`` or ``"NFKC"`` (NFKC also folds
            compatibility forms such as full-width digits and ligatures).
    """

    whitespace: Literal["exact", "strip", "collapse"] = "strip"
    case: Literal["exact", "fold"] = "exact"
    unicode: Literal["NFC", "NFKC"] | None = None

    def apply(self, text: str) -> str:
        """Return ``text`` in the normal form this policy defines."""
        if self.unicode is not None:
            text = unicodedata.normalize(self.unicode, text)
        if self.case == "fold":
            text = text.casefold()
        if self.whitespace == "collapse":
            return _WHITESPACE_RUN.sub(" ", text).strip()
        return text.strip() if self.whitespace == "strip" else text

    @property
    def spec(self) -> str:
        """A short stable name, hashed into keys so two policies never share entries."""
        return f"{self.whitespace}/{self.case}/{self.unicode or 'raw'}"


EXACT = Normalization(whitespace="exact")
"""Byte-exact text: for code and anything whitespace-sensitive."""

DEFAULT_NORMALIZATION = Normalization()
"""Strip leading/trailing whitespace of each text part; everything else exact."""

LENIENT = Normalization(whitespace="collapse", case="fold", unicode="NFKC")
"""For short-answer tasks (classification, extraction of labels) on free-typed input."""


@dataclass(frozen=True)
class CacheRequest:
    """Everything that shapes one answer, as the router sees it before routing.

    Attributes:
        messages: the full conversation sent to the model.
        task: the resolved task label.
        namespace: the tenant partition; requests of two tenants never share entries.
        params: every kwarg that reaches the model: generation parameters (including
            provider-specific ones), ``stop``, ``tools``, ``tool_choice``,
            ``response_format``/schema. Pydantic classes, TypedDicts, tools and
            functions are keyed by their JSON schema; credentials are dropped; any
            other object raises `TypeError` when the key is computed.
        policy_version: the route/policy version; a new policy invalidates old answers.
        normalization: overrides the cache's per-task normalisation for this request.
    """

    messages: list[BaseMessage]
    task: str
    namespace: str = "default"
    params: Mapping[str, Any] = field(default_factory=dict)
    policy_version: str = "0"
    normalization: Normalization | None = None

    _key: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        """The canonical key under `normalization` (or `DEFAULT_NORMALIZATION`), memoised.

        Memoised by hand: `functools.cached_property` takes a lock on Python 3.11.

        Raises:
            TypeError: a parameter has no stable JSON form.
        """
        key = self._key
        if key is None:
            key = self.key_for(self.normalization or DEFAULT_NORMALIZATION)
            object.__setattr__(self, "_key", key)  # frozen, but the key is derived
        return key

    def key_for(self, normalization: Normalization) -> str:
        """The canonical key under a given normalisation: ``"v2:" + sha256 hex``."""
        return f"v{KEY_VERSION}:{digest(self.payload(normalization))}"

    def payload(self, normalization: Normalization) -> dict[str, JsonValue]:
        """The JSON document the key hashes (useful to debug an unexpected miss)."""
        return {
            "v": KEY_VERSION,
            "namespace": self.namespace,
            "task": self.task,
            "policy": self.policy_version,
            "norm": normalization.spec,
            "params": canonical_params(self.params),
            "messages": [message_form(m, normalization) for m in self.messages],
        }


def digest(document: JsonValue) -> str:
    """SHA-256 of the compact JSON of ``document`` (orjson: every hit pays for it).

    Key order is part of the canonical form: `canonical` sorts every mapping and the
    payload and message forms are built in a fixed order, so no sort pass is needed.
    orjson writes NaN as null, so `canonical` refuses non-finite floats. What orjson
    cannot write at all (a lone surrogate, an integer beyond 64 bits) is written by
    the standard library instead, as ASCII escapes and long digits that orjson never
    emits, so the two forms never produce the same bytes for different documents.
    """
    try:
        text = orjson.dumps(document)
    except TypeError:
        text = json.dumps(document, separators=(",", ":")).encode()
    return hashlib.sha256(text).hexdigest()


def message_form(message: BaseMessage, normalization: Normalization) -> dict[str, JsonValue]:
    """What of a message the model reads: role, name, content, tool calls, tool-call id."""
    content = message.content
    if _plain_text(message):  # most prompts: the same form as below, without its checks
        return {"role": message.type, "content": normalization.apply(content)}  # type: ignore[arg-type]
    form: dict[str, JsonValue] = {
        "role": _role(message),
        "content": content_form(content, normalization),
    }
    if message.name is not None:
        form["name"] = message.name
    if isinstance(message, AIMessage) and message.tool_calls:
        form["tool_calls"] = [
            {"name": c["name"], "args": canonical(c["args"]), "id": c.get("id")}
            for c in message.tool_calls
        ]
    if isinstance(message, ToolMessage):
        form["tool_call_id"] = message.tool_call_id
        form["status"] = message.status
    extra = {k: v for k, v in message.additional_kwargs.items() if v is not None}
    if extra:
        form["additional_kwargs"] = canonical(extra, path="additional_kwargs")
    return form


def _plain_text(message: BaseMessage) -> bool:
    """A human or system message of plain text with no name and no extra kwargs."""
    return (
        type(message) in _PLAIN_TEXT_TYPES
        and type(message.content) is str
        and message.name is None
        and not message.additional_kwargs
    )


def content_form(content: str | list[Any], normalization: Normalization) -> JsonValue:
    """Message content with its text parts normalised and other blocks kept exact."""
    if isinstance(content, str):
        return normalization.apply(content)
    return [_block_form(block, normalization) for block in content]


def _block_form(block: Any, normalization: Normalization) -> JsonValue:
    if isinstance(block, str):
        return normalization.apply(block)
    is_text = isinstance(block, dict) and block.get("type") == "text"
    if is_text and isinstance(block.get("text"), str):
        return canonical({**block, "text": normalization.apply(block["text"])})
    return canonical(block, path="content block")


def _role(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return f"chat:{message.role}"
    # AIMessageChunk -> "ai", HumanMessageChunk -> "human": a chunk is the same message.
    kind = message.type
    return kind.removesuffix("MessageChunk").lower() if kind.endswith("MessageChunk") else kind
