"""Chat models that answer batch prompts per id, with switchable misbehaviour."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_costrouter.batching.prompt import read_items_text
from langchain_costrouter.testing.models import ScriptedChatModel

Answer = Callable[[list[tuple[str, Any]]], str]


def items_of(messages: list[BaseMessage]) -> list[tuple[str, Any]]:
    items = read_items_text(str(messages[-1].content))
    assert items is not None, "the batcher sent something that is not a batch prompt"
    return items


def label_by_keyword(item: Any) -> str:
    return "spam" if "buy" in str(item).lower() else "ham"


def honest(items: list[tuple[str, Any]]) -> str:
    return json.dumps({id_: label_by_keyword(item) for id_, item in items})


def batch_model(answer: Answer = honest) -> ScriptedChatModel:
    return ScriptedChatModel(responder=lambda messages: answer(items_of(messages)))


def batch_sizes(model: ScriptedChatModel) -> list[int]:
    return [len(items_of(messages)) for messages in model.seen]
