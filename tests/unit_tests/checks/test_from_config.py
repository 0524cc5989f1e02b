from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.checks import (
    AllOf,
    EmbeddingSimilarity,
    JSONSchemaCheck,
    JudgeCheck,
    LabelSet,
    LengthBounds,
    check_from_config,
)
from langchain_costrouter.checks.from_config import CHECK_KINDS
from langchain_costrouter.errors import ConfigError

QUESTION = [HumanMessage("Classify.")]

# What tomllib gives for a route table written in TOML.
ROUTES: dict[str, Any] = {
    "classify": {
        "check": {
            "kind": "all",
            "checks": [
                {"kind": "not_refusal"},
                {"kind": "length", "min_chars": 1, "max_chars": 2000},
                {"kind": "label_set", "labels": ["Yes", "No"], "name": "yes_no"},
                {"kind": "regex", "pattern": "^(yes|no)", "ignore_case": True},
            ],
        }
    },
    "extract": {
        "check": {
            "kind": "json_schema",
            "schema": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
            },
        }
    },
}


def build(spec: dict[str, Any], **kwargs: Any) -> Any:
    return check_from_config(spec, key="routes.r.check", **kwargs)


def test_builds_checks_from_config_tables() -> None:
    classify = check_from_config(ROUTES["classify"]["check"])
    assert isinstance(classify, AllOf)
    assert [c.name for c in classify.checks] == ["not_refusal", "length", "yes_no", "regex"]
    assert classify.evaluate(QUESTION, AIMessage("Yes")).score == 1.0
    assert classify.evaluate(QUESTION, AIMessage("Perhaps")).score == 0.0
    extract = check_from_config(ROUTES["extract"]["check"])
    assert isinstance(extract, JSONSchemaCheck)
    assert extract.evaluate(QUESTION, AIMessage('{"name": "Ann"}')).score == 1.0
    assert extract.evaluate(QUESTION, AIMessage('{"name": 1}')).score == 0.0


@pytest.mark.parametrize("kind", sorted(set(CHECK_KINDS) - {"judge", "embedding"}))
def test_every_simple_kind_builds(kind: str) -> None:
    extras: dict[str, dict[str, Any]] = {
        "label_set": {"labels": ["a"]},
        "regex": {"pattern": "a"},
        "json_schema": {"schema": {}},
        "all": {"checks": [{"kind": "non_empty"}]},
        "any": {"checks": [{"kind": "non_empty"}]},
        "weighted": {"checks": [{"kind": "non_empty"}], "weights": [1]},
    }
    check = build({"kind": kind, "name": f"my_{kind}", **extras.get(kind, {})})
    assert check.name == f"my_{kind}"


def test_judge_and_embedding_resolve_named_models() -> None:
    judge = FakeMessagesListChatModel(responses=[AIMessage("Rating: [[10]]")])
    spec = {"kind": "judge", "model": "cheap", "scale": [1, 10]}
    check = build(spec, chat_models={"cheap": judge})
    assert isinstance(check, JudgeCheck)
    assert check.llm is judge
    assert check.evaluate(QUESTION, AIMessage("Yes")).score == 1.0
    embedding_spec = {"kind": "embedding", "model": "fake", "gold": ["Yes"]}
    embeddings = {"fake": DeterministicFakeEmbedding(size=32)}
    assert isinstance(build(embedding_spec, embeddings=embeddings), EmbeddingSimilarity)


def test_options_reach_the_check() -> None:
    check = build({"kind": "length", "min_chars": 2, "max_chars": 9})
    assert isinstance(check, LengthBounds)
    assert (check.min_chars, check.max_chars) == (2, 9)
    labels = build({"kind": "label_set", "labels": ["Yes"], "allow_explanation": True})
    assert isinstance(labels, LabelSet)
    assert labels.allow_explanation


@pytest.mark.parametrize(
    ("spec", "key", "fragment"),
    [
        ("not_refusal", "routes.r.check", "must be a table"),
        ({"labels": ["a"]}, "routes.r.check.kind", "unknown check kind None"),
        ({"kind": "label"}, "routes.r.check.kind", "'label_set'"),
        ({"kind": "label_set"}, "routes.r.check.labels", "missing"),
        ({"kind": "label_set", "labels": "Yes"}, "routes.r.check.labels", "a list of strings"),
        ({"kind": "label_set", "labels": []}, "routes.r.check", "non-empty labels"),
        ({"kind": "length", "max_char": 5}, "routes.r.check.max_char", "unknown key"),
        ({"kind": "length", "min_chars": True}, "routes.r.check.min_chars", "an integer"),
        ({"kind": "length", "min_chars": 9, "max_chars": 2}, "routes.r.check", "min_chars"),
        ({"kind": "regex", "pattern": "(unclosed"}, "routes.r.check.pattern", "regular expr"),
        ({"kind": "json_schema", "schema": {"type": "strng"}}, "routes.r.check.schema", "type"),
        (
            {"kind": "json_schema", "schema": {"properties": {"a": {"if": {}}}}},
            "routes.r.check.schema.properties.a",
            "unsupported",
        ),
        ({"kind": "valid_json", "source": "body"}, "routes.r.check", "source"),
        ({"kind": "agreement", "mode": "label"}, "routes.r.check", "labels"),
        ({"kind": "judge", "model": "gpt-x"}, "routes.r.check.model", "no chat model named"),
        ({"kind": "judge", "model": "m", "scale": [1]}, "routes.r.check.scale", "[low, high]"),
        (
            {"kind": "all", "checks": [{"kind": "not_refusal"}, {"kind": "regex"}]},
            "routes.r.check.checks[1].pattern",
            "missing",
        ),
        (
            {"kind": "weighted", "checks": [{"kind": "non_empty"}], "weights": [1, 2]},
            "routes.r.check",
            "one weight per check",
        ),
        (
            {"kind": "any", "checks": [{"kind": "all", "checks": [{"kind": "nope"}]}]},
            "routes.r.check.checks[0].checks[0].kind",
            "unknown check kind",
        ),
    ],
)
def test_bad_specs_name_the_key_path(spec: Any, key: str, fragment: str) -> None:
    judge = FakeMessagesListChatModel(responses=[AIMessage("1")])
    with pytest.raises(ConfigError) as caught:
        build(spec, chat_models={"m": judge})
    assert caught.value.key == key
    assert fragment in str(caught.value)
