"""PromptCompressor driving the real ChatOpenAI client against the local test server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import pytest
import redis
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.compression import PromptCompressor
from langchain_costrouter.compression.memo import memo_key
from langchain_costrouter.compression.scripted import keep_leading_sentences
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.replies import Fault, Reply
from tests.server_fixtures import dead_port

PROMPT = (
    Path(__file__).parents[2] / "data" / "compression" / "bloated_system_prompt.md"
).read_text()
SCHEMA_LINE = next(line for line in PROMPT.splitlines() if line.startswith('{"$schema"'))


def _summarise(body: dict[str, Any]) -> Reply:
    return Reply(keep_leading_sentences(0.5)(body["messages"][-1]["content"]))


@pytest.fixture
def compressor_model(openai_server: LocalOpenAIServer) -> ChatOpenAI:
    openai_server.set_responder(_summarise)
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )


def test_compresses_once_with_provider_usage(
    compressor_model: ChatOpenAI, openai_server: LocalOpenAIServer
) -> None:
    compressor = PromptCompressor(compressor_model, cache={})
    first = compressor.compress_messages([SystemMessage(PROMPT), HumanMessage("Where is NW-1?")])
    second = compressor.compress_messages([SystemMessage(PROMPT), HumanMessage("Refund?")])

    (answer,) = first.compressor_messages
    assert openai_server.request_count() == 1
    assert second.messages[0].text == first.messages[0].text
    assert SCHEMA_LINE in first.messages[0].text
    assert first.tokens_after < first.tokens_before
    assert answer.response_metadata["model_name"].startswith("gpt-4o-mini")
    assert "usage_estimated" not in answer.response_metadata
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] == openai_server.requests[0].prompt_tokens


async def test_a_provider_error_keeps_the_original(
    compressor_model: ChatOpenAI, openai_server: LocalOpenAIServer
) -> None:
    openai_server.script([Fault("500")])
    result = await PromptCompressor(compressor_model).acompress_messages([SystemMessage(PROMPT)])

    assert result.messages[0].text == PROMPT
    assert result.fallback_reason is not None
    assert "compressor failed" in result.fallback_reason
    assert result.compressor_messages == []


# The rules said three times, each in a paragraph of its own: said again in one paragraph,
# a sentence is a step done again, which the free rules keep and a rewrite may not drop.
RULES = "\n\n".join(
    [
        "You are the support assistant of a shoe shop. Customers may return shoes within 30 "
        "days of delivery, and the refund reaches their card 5 business days after we receive "
        "them. Orders above 120 euros ship for free."
    ]
    * 3
)


@pytest.mark.parametrize(
    "rewrite",
    [
        "Returns within 3 days of delivery; refund 5 business days after receipt. Free "
        "shipping above 120 euros.",
        "Returns within 30 days of delivery; refund 5 business days after receipt. Free "
        "shipping above 120 euros, 2 pairs at most.",
        "Returns within 5 days of delivery; refund 30 business days after receipt. Free "
        "shipping above 120 euros.",
    ],
    ids=["number-changed", "number-invented", "numbers-swapped"],
)
def test_a_rewrite_that_changes_the_numbers_keeps_the_original(
    openai_server: LocalOpenAIServer, rewrite: str
) -> None:
    """Numbers are not masked (the model must read them in context), so its answer is
    checked for them: a figure lost or invented is a changed instruction, not a saving."""
    openai_server.set_responder(lambda body: Reply(rewrite))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    compressor = PromptCompressor(model, strategies=("llm",), min_tokens=20)
    result = compressor.compress_messages([SystemMessage(RULES)])
    assert openai_server.request_count() == 1
    assert result.messages[0].text == RULES
    assert result.fallback_reason is not None
    assert "number" in result.fallback_reason


def test_a_rewrite_that_keeps_every_number_is_used(openai_server: LocalOpenAIServer) -> None:
    rewrite = "Returns within 30 days of delivery; refund 5 business days after receipt. "
    rewrite += "Free shipping above 120 euros."
    openai_server.set_responder(lambda body: Reply(rewrite))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    result = PromptCompressor(model, strategies=("llm",), min_tokens=20).compress_messages(
        [SystemMessage(RULES)]
    )
    assert result.fallback_reason is None
    assert result.messages[0].text == rewrite


@pytest.mark.parametrize("kind", ["malformed", "error_body"])
def test_a_malformed_compressor_answer_keeps_the_original_and_the_call_answers(
    openai_server: LocalOpenAIServer, kind: Literal["malformed", "error_body"]
) -> None:
    """A 200 whose body is not JSON makes ChatOpenAI raise JSONDecodeError, and one that
    carries an error object (a gateway's) a bare ValueError, not a ModelError; either is
    the compressor's provider failing, so the routed call goes on."""
    openai_server.set_responder(lambda body: Reply("Noted."))
    openai_server.script([Fault(kind)])
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    compressor = PromptCompressor(model, strategies=("llm",), min_tokens=20)
    router = RoutedChatModel(routes={"chat": [model]}, compressors={"*": compressor})
    answer = router.invoke([SystemMessage(RULES), HumanMessage("Can I return boots?")])
    assert answer.text == "Noted."
    assert openai_server.request_count() == 2
    assert answer.response_metadata["costrouter"]["compression_tokens_saved"] == 0
    assert openai_server.requests[1].body is not None
    assert openai_server.requests[1].body["messages"][0]["content"] == RULES


def test_a_memo_entry_verified_by_older_checks_is_not_served(
    openai_server: LocalOpenAIServer,
) -> None:
    """A shared memo (Redis) outlives an upgrade: an entry stored before a check was
    added (the numbers check) was never verified by it, so it is compressed again."""
    changed = "Returns within 3 days of delivery; refund 5 business days after receipt. "
    changed += "Free shipping above 120 euros."
    openai_server.set_responder(lambda body: Reply(changed))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    memo: dict[str, str] = {}
    compressor = PromptCompressor(model, strategies=("llm",), min_tokens=20, cache=memo)
    before = compressor.settings.fingerprint(())
    before.pop("verification", None)  # the settings as the version before the check wrote them
    memo[memo_key(RULES, before)] = json.dumps({"text": changed, "fallback_reason": None})
    result = compressor.compress_messages([SystemMessage(RULES)])
    assert openai_server.request_count() == 1
    assert result.messages[0].text == RULES
    assert result.fallback_reason is not None and "number" in result.fallback_reason


def test_a_redis_memo_that_is_down_costs_the_memo_only(
    compressor_model: ChatOpenAI, openai_server: LocalOpenAIServer
) -> None:
    """The memo's promise (a store failure is a miss with a warning) holds for the shared
    store it is meant for: redis-py raises its own ConnectionError, not the builtin one."""
    down = redis.Redis(host="127.0.0.1", port=dead_port(), socket_connect_timeout=1)
    compressor = PromptCompressor(compressor_model, cache=down)
    with pytest.warns(BackendUnavailableWarning, match="Compression memo") as caught:
        result = compressor.compress_messages([SystemMessage(PROMPT)])
    assert openai_server.request_count() == 1
    assert result.fallback_reason is None
    assert result.tokens_after < result.tokens_before
    assert {str(w.message).split()[2] for w in caught} == {"read", "write"}


def test_a_quoted_reply_reaches_the_model_word_for_word(openai_server: LocalOpenAIServer) -> None:
    """A compressor drops politeness wherever it sees it ("Please hold" -> "hold"), which
    changed the reply the prompt quotes to be given word for word. The quotation is
    masked now: the compressor never sees it, and it comes back byte-identical."""
    quoted = '"Please hold while I check your order."'
    bloat = "Please note that you must always be kind, patient and helpful to every customer. "
    rules = bloat * 2 + f"When asked where an order is, reply exactly {quoted} and look it up."

    def impolite(body: dict[str, Any]) -> Reply:
        sentences = body["messages"][-1]["content"].replace("Please ", "").split(". ")
        return Reply(". ".join(dict.fromkeys(sentences)))

    openai_server.set_responder(impolite)
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    compressor = PromptCompressor(model, strategies=("llm",), min_tokens=20)
    result = compressor.compress_messages([SystemMessage(rules)])
    assert openai_server.request_count() == 1
    assert openai_server.requests[0].body is not None
    assert "hold while" not in openai_server.requests[0].body["messages"][-1]["content"]
    assert result.fallback_reason is None
    assert result.tokens_after < result.tokens_before
    assert f"reply exactly {quoted} and look it up." in result.messages[0].text


def test_a_memo_entry_from_before_quotations_were_kept_is_not_served(
    openai_server: LocalOpenAIServer,
) -> None:
    """A shared memo outlives an upgrade: an entry stored while quotations were still
    rewritten may hold a changed one, so it is compressed again."""
    quoted = '"Please hold while I check your order."'
    rules = "Please note that you must always be kind to every customer. " * 3
    rules += f"When asked where an order is, reply exactly {quoted} and look it up."
    openai_server.set_responder(lambda body: Reply(_but_first(body["messages"][-1]["content"])))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    memo: dict[str, str] = {}
    compressor = PromptCompressor(model, strategies=("llm",), min_tokens=20, cache=memo)
    before = compressor.settings.fingerprint(()) | {"verification": 2}
    stale = _but_first(rules).replace(quoted, '"Hold on."')
    memo[memo_key(rules, before)] = json.dumps({"text": stale, "fallback_reason": None})
    result = compressor.compress_messages([SystemMessage(rules)])
    assert openai_server.request_count() == 1
    assert result.messages[0].text == _but_first(rules)


def _but_first(text: str) -> str:
    """A compressor's rewrite: the text without its first (repeated) sentence."""
    return text.split(". ", 1)[1]


@pytest.mark.parametrize("mangles", [True, False], ids=["names-mangled", "names-kept"])
def test_tool_names_in_a_chain_s_prompt_reach_the_model_exact(
    openai_server: LocalOpenAIServer, mangles: bool
) -> None:
    """In ``prompt | PromptCompressor(...) | model.bind_tools(...)`` the compressor never
    sees the tools; a compressor that tidies "lookup_order" into "lookup order" sent the
    model an instruction naming no tool it has. Such a rewrite is refused now (the prompt
    goes out whole), and one that keeps every code-like name is used."""

    @tool
    def lookup_order(order_id: str) -> str:
        """Look up an order."""
        return "shipped"

    def tidy(body: dict[str, Any]) -> Reply | None:
        if "You compress prompts" not in str(body["messages"][0]["content"]):
            return None
        text = body["messages"][-1]["content"]
        if mangles:
            text = re.sub(r"(?<=[a-z])_(?=[a-z])", " ", text)
        return Reply(text.split(". ")[0] + ".")

    openai_server.set_responder(tidy)
    compressor_model, model = (
        ChatOpenAI(model=name, base_url=openai_server.base_url, api_key="test", max_retries=0)
        for name in ("gpt-4o-mini", "gpt-4o")
    )
    first = "When asked about an order, call lookup_order with the order_id they give."
    rules = first + " Please note that you must always be kind to every customer." * 3
    prompt = ChatPromptTemplate.from_messages([SystemMessage(rules), ("human", "{question}")])
    compressor = PromptCompressor(compressor_model, strategies=("llm",), min_tokens=10)
    chain = prompt | compressor | model.bind_tools([lookup_order])
    chain.invoke({"question": "Where is NW-20240117?"})
    assert openai_server.request_count() == 2
    served = openai_server.requests[-1].body
    assert served is not None and served["model"] == "gpt-4o"
    assert served["messages"][0]["content"] == (rules if mangles else first)


def test_a_rewrite_that_drops_a_minus_sign_keeps_the_original(
    openai_server: LocalOpenAIServer,
) -> None:
    """ "below -18 °C" and "below 18 °C" held the same digits, so the numbers check let a
    rewrite that thaws the vaccines through."""
    rules = "Please note that the vaccines must always be stored below -18 °C at all times. " * 3
    openai_server.set_responder(lambda body: Reply("Store vaccines below 18 °C."))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    result = PromptCompressor(model, strategies=("llm",), min_tokens=20).compress_messages(
        [SystemMessage(rules)]
    )
    assert openai_server.request_count() == 1
    assert result.messages[0].text == rules
    assert result.fallback_reason == (
        "message 0: number -18 of the original is missing from the compressed text"
    )


def test_a_rewrite_cut_at_the_compressor_s_output_cap_keeps_the_original(
    openai_server: LocalOpenAIServer,
) -> None:
    """A compressor model with a small max_tokens stops mid-rewrite (finish_reason
    "length"): the text it got that far was shorter and kept every number, name and
    marker, so it was sent, and the rule after the cut was gone."""
    rules = "Please note that you must always greet the customer warmly and politely. " * 3
    rules += "Never discuss competitors or their prices with anyone."
    openai_server.set_responder(
        lambda body: Reply(body["messages"][-1]["content"].replace("Please note that you", "You"))
    )
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key="test",
        max_retries=0,
        max_tokens=20,
    )
    result = PromptCompressor(model, strategies=("llm",), min_tokens=10).compress_messages(
        [SystemMessage(rules)]
    )
    assert openai_server.request_count() == 1
    assert result.messages[0].text == rules
    assert result.fallback_reason == (
        "message 0: the compressor's answer was cut at its output cap (finish reason 'length')"
    )
    (answer,) = result.compressor_messages  # billed all the same
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] == 20


def test_a_turn_nested_deeper_than_json_parses_is_answered(
    openai_server: LocalOpenAIServer,
) -> None:
    """The compressor asked json for the value at every bracket; 3,000 nested ones made
    it raise RecursionError, which failed the routed call instead of leaving the turn."""
    openai_server.set_responder(lambda body: Reply("Noted."))
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    router = RoutedChatModel(
        routes={"chat": [model]}, compressors={"*": PromptCompressor(min_tokens=0)}
    )
    turn = "Please note that this is my bracket art: " + "[" * 3000
    answer = router.invoke([HumanMessage(turn)])
    assert answer.text == "Noted."
    assert openai_server.requests[0].body is not None
    sent = openai_server.requests[0].body["messages"][0]["content"]
    assert sent == "This is my bracket art: " + "[" * 3000


TOOL_RULES = "\n\n".join(
    [
        "Move the booking from old_slot to new_slot when the customer asks. Call "
        "escalate_to_human when they ask for a person. Always call escalate_to_human when they "
        "report a safety problem. Please note that you must be kind to every customer."
    ]
    * 2
)


KEPT = (
    "Move booking old_slot to new_slot on request. Call escalate_to_human if asked for a "
    "person. Always call escalate_to_human for a safety problem. Be kind."
)


@pytest.mark.parametrize(
    ("rewrite", "reason"),
    [
        (
            KEPT.replace("old_slot to new_slot", "new_slot to old_slot"),
            "the compressed text states name old_slot after new_slot, out of the original's order",
        ),
        (
            KEPT.replace(" Always call escalate_to_human for a safety problem.", ""),
            "name escalate_to_human is stated 4 times in the original and 1 time in the "
            "compressed text; only a repeated sentence's names may go",
        ),
    ],
    ids=["names-swapped", "a-tool-s-rule-dropped"],
)
def test_a_rewrite_that_swaps_or_drops_a_name_s_mention_keeps_the_original(
    openai_server: LocalOpenAIServer, rewrite: str, reason: str
) -> None:
    """A set of names let "from new_slot to old_slot" through, and the safety rule with
    its escalate_to_human gone, as the name was still said; each mention is counted now,
    in order, a repeated sentence's aside (here the whole rules are said twice)."""
    model = ChatOpenAI(
        model="gpt-4o-mini", base_url=openai_server.base_url, api_key="test", max_retries=0
    )
    compressor = PromptCompressor(model, strategies=("llm",), min_tokens=20)
    for answer, expected in ((rewrite, TOOL_RULES), (KEPT, KEPT)):
        openai_server.set_responder(lambda body, answer=answer: Reply(answer))
        result = compressor.compress_messages([SystemMessage(TOOL_RULES)])
        assert result.messages[0].text == expected
        assert result.fallback_reason == (f"message 0: {reason}" if answer == rewrite else None)
    assert openai_server.request_count() == 2
