"""The helpers that let fakes and the test server answer batch prompts per id."""

from __future__ import annotations

import json

import pytest

from langchain_costrouter.batching import ItemBatcher
from langchain_costrouter.batching.items import to_batch_items
from langchain_costrouter.batching.prompt import build_messages, items_text
from langchain_costrouter.batching.schema import TextSchema
from langchain_costrouter.batching.testing import batch_responder, request_items, request_text
from langchain_costrouter.testing.models import ScriptedChatModel
from langchain_costrouter.tokens import count_text


def _body(content: object) -> dict[str, object]:
    return {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": content}]}


def test_request_items_reads_back_what_the_batcher_wrote() -> None:
    batch = to_batch_items(['a "quoted" item', {"k": 1}], count_text)
    messages = build_messages("Do it.", TextSchema(), batch)
    body = _body(messages[1].content)
    assert request_items(body) == [("i0", 'a "quoted" item'), ("i1", {"k": 1})]


def test_content_parts_and_non_batch_requests() -> None:
    text = items_text(to_batch_items(["x"], count_text))
    assert request_text(_body([{"type": "text", "text": text}])) == text
    assert request_items(_body("Hello there")) is None
    assert request_items({"messages": []}) is None


def test_batch_responder_answers_per_id_and_passes_other_requests() -> None:
    respond = batch_responder(str.upper)
    reply = respond(_body(items_text(to_batch_items(["ab", "cd"], count_text))))
    assert reply is not None
    assert json.loads(reply.text or "") == {"i0": "AB", "i1": "CD"}
    assert respond(_body("not a batch")) is None


def test_a_single_string_is_refused_instead_of_split_into_characters() -> None:
    with pytest.raises(TypeError, match="list of items"):
        ItemBatcher(ScriptedChatModel(), "Do it.").invoke("abc")
