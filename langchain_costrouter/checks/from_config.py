"""Build checks from TOML-style specs such as ``{kind = "label_set", labels = ["Yes", "No"]}``.

Every problem is a `ConfigError` naming the key path of the offending value
(``routes.classify.check.checks[1].pattern``): unknown kinds, unknown keys (a typo
such as ``max_char`` must not silently drop a bound), missing keys and wrong types.
Judge and embedding checks name a model; the caller passes the objects by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from langchain_costrouter._unknown_keys import unknown_key_message
from langchain_costrouter.checks.agreement import Agreement
from langchain_costrouter.checks.base import QualityCheck
from langchain_costrouter.checks.compose import AllOf, AnyOf, Weighted
from langchain_costrouter.checks.embedding import EmbeddingSimilarity
from langchain_costrouter.checks.heuristics import (
    LabelSet,
    LengthBounds,
    NonEmpty,
    NotRefusal,
    RegexMatch,
)
from langchain_costrouter.checks.judge import JudgeCheck
from langchain_costrouter.checks.structured import JSONSchemaCheck, ValidJSON
from langchain_costrouter.errors import ConfigError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "a string": lambda v: isinstance(v, str),
    "a boolean": lambda v: isinstance(v, bool),
    "an integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "a number": _is_number,
    "a list of strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "a list of numbers": lambda v: isinstance(v, list) and all(_is_number(x) for x in v),
    "a table": lambda v: isinstance(v, Mapping),
    "a list of tables": lambda v: isinstance(v, list) and all(isinstance(x, Mapping) for x in v),
}


@dataclass(frozen=True)
class _Context:
    """What building a spec needs besides the spec: named models and the key path."""

    key: str
    chat_models: Mapping[str, BaseChatModel]
    embeddings: Mapping[str, Embeddings]

    def at(self, key: str) -> _Context:
        return _Context(key, self.chat_models, self.embeddings)


@dataclass(frozen=True)
class _Kind:
    build: Callable[[dict[str, Any], _Context], QualityCheck]
    required: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)


def check_from_config(
    spec: Mapping[str, Any],
    *,
    key: str = "check",
    chat_models: Mapping[str, BaseChatModel] | None = None,
    embeddings: Mapping[str, Embeddings] | None = None,
) -> QualityCheck:
    """Build a check from its spec.

    Args:
        spec: A table with a ``kind`` (see `CHECK_KINDS`) and that kind's keys;
            every kind also takes an optional ``name``.
        key: The spec's key path in the configuration, used in error messages.
        chat_models: Judge models by the name a ``judge`` spec's ``model`` gives.
        embeddings: Embeddings by the name an ``embedding`` spec's ``model`` gives.

    Raises:
        ConfigError: The spec is invalid; the error names the key path.
    """
    return _build(spec, _Context(key, chat_models or {}, embeddings or {}))


def _build(spec: Any, ctx: _Context) -> QualityCheck:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"a check must be a table, got {spec!r}", key=ctx.key)
    kind_name = spec.get("kind")
    kind = CHECK_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise ConfigError(
            f"unknown check kind {kind_name!r}; expected one of {sorted(CHECK_KINDS)}",
            key=f"{ctx.key}.kind",
        )
    params = _validated(spec, kind, ctx.key)
    try:
        return kind.build(params, ctx)
    except ConfigError:
        raise
    except (ValueError, re.error) as err:  # the constructors' own argument checks
        raise ConfigError(str(err), key=ctx.key) from err


def _validated(spec: Mapping[str, Any], kind: _Kind, key: str) -> dict[str, Any]:
    allowed = {"kind": "a string", "name": "a string", **kind.required, **kind.optional}
    for name, value in spec.items():
        if name not in allowed:
            raise ConfigError(unknown_key_message(name, allowed), key=f"{key}.{name}")
        if not _TYPES[allowed[name]](value):
            raise ConfigError(f"expected {allowed[name]}, got {value!r}", key=f"{key}.{name}")
    for name in kind.required:
        if name not in spec:
            raise ConfigError(f"missing; a {spec['kind']!r} check needs it", key=f"{key}.{name}")
    return {name: value for name, value in spec.items() if name != "kind"}


def _children(specs: list[Mapping[str, Any]], ctx: _Context) -> list[QualityCheck]:
    return [_build(child, ctx.at(f"{ctx.key}.checks[{i}]")) for i, child in enumerate(specs)]


def _named(table: Mapping[str, Any], params: dict[str, Any], what: str, ctx: _Context) -> Any:
    model = params.pop("model")
    if model not in table:
        known = sorted(table) or "(none passed)"
        raise ConfigError(f"no {what} named {model!r}; known: {known}", key=f"{ctx.key}.model")
    return table[model]


def _regex(params: dict[str, Any], ctx: _Context) -> QualityCheck:
    flags = re.IGNORECASE if params.pop("ignore_case", False) else 0
    try:
        pattern = re.compile(params.pop("pattern"), flags)
    except re.error as err:
        raise ConfigError(f"invalid regular expression: {err}", key=f"{ctx.key}.pattern") from err
    return RegexMatch(pattern, **params)


def _judge(params: dict[str, Any], ctx: _Context) -> QualityCheck:
    llm = _named(ctx.chat_models, params, "chat model", ctx)
    if "scale" in params:
        if len(params["scale"]) != 2:
            raise ConfigError("expected [low, high]", key=f"{ctx.key}.scale")
        params["scale"] = (float(params["scale"][0]), float(params["scale"][1]))
    return JudgeCheck(llm, **params)


def _embedding(params: dict[str, Any], ctx: _Context) -> QualityCheck:
    embeddings = _named(ctx.embeddings, params, "embeddings", ctx)
    return EmbeddingSimilarity(embeddings, params.pop("gold"), **params)


_JSON = {"source": "a string", "allow_code_fence": "a boolean"}

CHECK_KINDS: Mapping[str, _Kind] = {
    "non_empty": _Kind(lambda p, _: NonEmpty(**p)),
    "not_refusal": _Kind(lambda p, _: NotRefusal(**p), optional={"window": "an integer"}),
    "length": _Kind(
        lambda p, _: LengthBounds(**p),
        optional={"min_chars": "an integer", "max_chars": "an integer"},
    ),
    "label_set": _Kind(
        lambda p, _: LabelSet(p.pop("labels"), **p),
        required={"labels": "a list of strings"},
        optional={"allow_explanation": "a boolean"},
    ),
    "regex": _Kind(
        _regex,
        required={"pattern": "a string"},
        optional={"fullmatch": "a boolean", "ignore_case": "a boolean"},
    ),
    "valid_json": _Kind(lambda p, _: ValidJSON(**p), optional=_JSON),
    "json_schema": _Kind(
        lambda p, ctx: JSONSchemaCheck(p.pop("schema"), key=f"{ctx.key}.schema", **p),
        required={"schema": "a table"},
        optional=_JSON,
    ),
    "agreement": _Kind(
        lambda p, _: Agreement(**p),
        optional={"mode": "a string", "labels": "a list of strings", "when_alone": "a number"},
    ),
    "judge": _Kind(
        _judge,
        required={"model": "a string"},
        optional={"prompt": "a string", "scale": "a list of numbers"},
    ),
    "embedding": _Kind(
        _embedding,
        required={"model": "a string", "gold": "a list of strings"},
        optional={"when_no_gold": "a number"},
    ),
    "all": _Kind(
        lambda p, ctx: AllOf(_children(p.pop("checks"), ctx), **p),
        required={"checks": "a list of tables"},
    ),
    "any": _Kind(
        lambda p, ctx: AnyOf(_children(p.pop("checks"), ctx), **p),
        required={"checks": "a list of tables"},
    ),
    "weighted": _Kind(
        lambda p, ctx: Weighted(_children(p.pop("checks"), ctx), p.pop("weights"), **p),
        required={"checks": "a list of tables", "weights": "a list of numbers"},
    ),
}
