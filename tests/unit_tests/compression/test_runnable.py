"""PromptCompressor end to end on the bloated prompt, with scripted compressor models."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import ModelRateLimitError
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompt_values import ChatPromptValue, StringPromptValue
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from langchain_costrouter.compression import PromptCompressor
from langchain_costrouter.compression.scripted import ScriptedCompressorModel
from langchain_costrouter.errors import CompressionFailedWarning, ConfigError, InvalidRequestError
from langchain_costrouter.tokens import count_text


def _in_order(text: str, parts: list[str]) -> bool:
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


def test_protected_spans_survive_a_prose_rewrite(
    bloated_prompt: str, protected_parts: list[str], summariser: ScriptedCompressorModel
) -> None:
    result = PromptCompressor(summariser, cache={}).compress_messages(
        [SystemMessage(bloated_prompt)]
    )

    compressed = result.messages[0].text
    assert count_text(bloated_prompt) >= 2000
    assert result.fallback_reason is None
    assert result.tokens_after < result.tokens_before * 0.8
    assert _in_order(compressed, protected_parts)


def test_protected_spans_are_never_sent_to_the_compressor(
    bloated_prompt: str, protected_parts: list[str], summariser: ScriptedCompressorModel
) -> None:
    PromptCompressor(summariser).compress_messages([SystemMessage(bloated_prompt)])

    (sent,) = summariser.requests
    assert not any(part in sent for part in protected_parts)
    assert '"additionalProperties"' not in sent
    assert "[[KEEP_1]]" in sent


def test_a_corrupted_span_falls_back_to_the_original_with_a_reason(
    bloated_prompt: str, corrupter: ScriptedCompressorModel
) -> None:
    result = PromptCompressor(corrupter, cache={}).compress_messages(
        [SystemMessage(bloated_prompt)]
    )

    assert result.messages[0].text == bloated_prompt
    assert result.tokens_after == result.tokens_before
    assert result.fallback_reason is not None
    assert "[[KEEP_2]] missing" in result.fallback_reason
    assert len(result.compressor_messages) == 1  # the failed call still cost money


def test_the_second_call_makes_no_compressor_call(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    compressor = PromptCompressor(summariser, cache={})
    first = compressor.compress_messages([SystemMessage(bloated_prompt), HumanMessage("Hi")])
    second = compressor.compress_messages([SystemMessage(bloated_prompt), HumanMessage("Hey")])

    assert len(summariser.requests) == 1
    assert second.compressor_messages == []
    assert second.messages[0].text == first.messages[0].text


def test_a_memoised_fallback_is_not_paid_for_again(
    bloated_prompt: str, corrupter: ScriptedCompressorModel
) -> None:
    compressor = PromptCompressor(corrupter, cache={})
    compressor.compress_messages([SystemMessage(bloated_prompt)])
    again = compressor.compress_messages([SystemMessage(bloated_prompt)])

    assert len(corrupter.requests) == 1
    assert again.fallback_reason is not None
    assert again.messages[0].text == bloated_prompt


def test_a_compressor_error_keeps_the_original_and_is_retried_later(bloated_prompt: str) -> None:
    def fail(text: str) -> str:
        raise ModelRateLimitError("slow down")

    failing = ScriptedCompressorModel(rewrite=fail)
    compressor = PromptCompressor(failing, cache={})
    with pytest.warns(CompressionFailedWarning):
        result = compressor.compress_messages([SystemMessage(bloated_prompt)])
    with pytest.warns(CompressionFailedWarning):
        compressor.compress_messages([SystemMessage(bloated_prompt)])

    assert result.messages[0].text == bloated_prompt
    assert result.fallback_reason == "message 0: compressor failed: ModelRateLimitError: slow down"
    assert len(failing.requests) == 2


def test_a_failing_compressor_warns_and_its_reason_shows_no_key(bloated_prompt: str) -> None:
    """A compressor that fails sends the prompt out whole: the caller is told (a warning,
    as a failing cache or ledger warns), and the reason, which spans and results carry,
    holds no credential the provider's error quoted."""
    key = "sk-proj-" + "a1B2c3D4e5" * 4

    def fail(text: str) -> str:
        raise ModelRateLimitError(f"slow down, key {key}")

    compressor = PromptCompressor(ScriptedCompressorModel(rewrite=fail), cache={})
    with pytest.warns(CompressionFailedWarning, match="ModelRateLimitError") as warned:
        result = compressor.compress_messages([SystemMessage(bloated_prompt)])

    assert result.messages[0].text == bloated_prompt
    assert result.fallback_reason is not None
    assert "slow down" in result.fallback_reason
    assert key not in result.fallback_reason
    assert all(key not in str(warning.message) for warning in warned)


def test_compressor_answers_carry_usage_and_model_name(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    result = PromptCompressor(summariser).compress_messages([SystemMessage(bloated_prompt)])

    (answer,) = result.compressor_messages
    assert answer.response_metadata["model_name"] == "scripted-compressor"
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["input_tokens"] > 1000


def test_history_and_example_messages_are_untouched(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    messages = [
        SystemMessage("Follow the examples."),
        HumanMessage(bloated_prompt),
        AIMessage("An example answer."),
        HumanMessage(bloated_prompt, name="example_user"),
        HumanMessage("Short question"),
    ]
    result = PromptCompressor(summariser, min_tokens=0).compress_messages(messages)

    assert result.messages[1:4] == messages[1:4]
    assert summariser.requests == ["Follow the examples.", "Short question"]


def test_tools_are_untouched_and_their_names_protected(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "create_return",
            "description": "Open a return.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    }
    snapshot = repr(tool)
    PromptCompressor(summariser).compress_messages([SystemMessage(bloated_prompt)], tools=[tool])

    (sent,) = summariser.requests
    assert repr(tool) == snapshot
    assert "create_return" not in sent
    assert "order_id" not in sent


def test_text_blocks_are_compressed_and_their_other_keys_kept(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    block = {"type": "text", "text": bloated_prompt, "cache_control": {"type": "ephemeral"}}
    result = PromptCompressor(summariser).compress_messages([SystemMessage([block])])

    content = result.messages[0].content
    assert isinstance(content, list)
    (new_block,) = content
    assert isinstance(new_block, dict)
    assert new_block["cache_control"] == {"type": "ephemeral"}
    assert len(new_block["text"]) < len(bloated_prompt)


def test_keep_markers_protect_and_are_removed(summariser: ScriptedCompressorModel) -> None:
    prose = "Answer politely and never share internal notes with anyone at all. " * 40
    text = f"{prose}<keep>Say exactly: Thank you for shopping with us.</keep> {prose}"
    out = PromptCompressor(summariser, min_tokens=10).invoke(text)

    assert isinstance(out, str)
    assert "<keep>" not in out
    assert "Say exactly: Thank you for shopping with us." in out
    assert "Thank you for shopping" not in summariser.requests[0]


def test_short_texts_are_left_alone(summariser: ScriptedCompressorModel) -> None:
    text = "Hello   there.   Please be brief."

    assert PromptCompressor(summariser).invoke(text) == text
    assert summariser.requests == []


def test_texts_without_prose_are_never_sent_even_at_min_tokens_zero(
    summariser: ScriptedCompressorModel,
) -> None:
    """min_tokens=0 asks to compress every text; an empty one, or one that is all code,
    has nothing to rewrite: calling the model for it is a paid call for nothing."""
    messages = [SystemMessage(""), HumanMessage("  \n "), HumanMessage("```py\nx = 1\n```")]
    result = PromptCompressor(summariser, min_tokens=0).compress_messages(messages)

    assert summariser.requests == []
    assert result.compressor_messages == []
    assert result.fallback_reason is None
    assert [m.content for m in result.messages] == [m.content for m in messages]


@pytest.mark.parametrize(
    "value",
    [
        "bloated",
        StringPromptValue(text="bloated"),
        ChatPromptValue(messages=[SystemMessage("bloated")]),
        [SystemMessage("bloated")],
    ],
    ids=["str", "string-prompt-value", "chat-prompt-value", "messages"],
)
def test_type_in_is_type_out(
    value: object, bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    value = _with_prompt(value, bloated_prompt)
    out = PromptCompressor(summariser).invoke(value)  # type: ignore[arg-type]

    assert type(out) is type(value)
    assert count_text(_text_of(out)) < count_text(bloated_prompt)


async def test_async_matches_sync(bloated_prompt: str, summariser: ScriptedCompressorModel) -> None:
    compressor = PromptCompressor(summariser)
    sync = compressor.compress_messages([SystemMessage(bloated_prompt)])
    asynchronous = await compressor.acompress_messages([SystemMessage(bloated_prompt)])
    via_ainvoke = await compressor.ainvoke(bloated_prompt)

    assert asynchronous.messages == sync.messages
    assert via_ainvoke == sync.messages[0].text
    assert len(summariser.requests) == 3


async def test_abatch_and_batch(bloated_prompt: str, summariser: ScriptedCompressorModel) -> None:
    compressor = PromptCompressor(summariser, cache={})
    outputs = compressor.batch([bloated_prompt, "short"]) + await compressor.abatch(["tiny"])

    assert outputs[1:] == ["short", "tiny"]
    assert count_text(str(outputs[0])) < count_text(bloated_prompt)


def test_lcel_composition_reaches_the_model_compressed(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    answerer = ScriptedCompressorModel(rewrite=lambda text: "Your order is on its way.")
    prompt = ChatPromptTemplate.from_messages([("system", "{rules}"), ("human", "{question}")])
    chain = prompt | PromptCompressor(summariser, cache={}) | answerer

    answer = chain.invoke({"rules": bloated_prompt.replace("{", "{{"), "question": "Where?"})

    assert answer.text == "Your order is on its way."
    assert len(summariser.requests) == 1
    assert answerer.requests == ["Where?"]


def test_lcel_with_a_string_prompt(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    chain = PromptTemplate.from_template("{text}") | PromptCompressor(summariser)

    out = chain.invoke({"text": bloated_prompt})

    assert isinstance(out, StringPromptValue)
    assert count_text(out.text) < count_text(bloated_prompt)


def test_deterministic_alone_needs_no_model(bloated_prompt: str) -> None:
    result = PromptCompressor().compress_messages([SystemMessage(bloated_prompt)])

    assert result.compressor_messages == []
    assert result.tokens_after < result.tokens_before


def test_the_llm_strategy_needs_a_model() -> None:
    with pytest.raises(ConfigError, match="needs a chat model"):
        PromptCompressor(strategies=("llm",))


def test_an_empty_strategy_list_is_refused_not_replaced_by_the_default(
    summariser: ScriptedCompressorModel,
) -> None:
    """``strategies=[]`` (or ``strategies = []`` in the config file) is a mistake to name,
    not a request for both strategies and a paid compressor call."""
    with pytest.raises(ConfigError, match="non-empty"):
        PromptCompressor(summariser, strategies=[])


def _with_prompt(value: object, prompt: str) -> object:
    if isinstance(value, str):
        return prompt
    if isinstance(value, StringPromptValue):
        return StringPromptValue(text=prompt)
    if isinstance(value, ChatPromptValue):
        return ChatPromptValue(messages=[SystemMessage(prompt)])
    return [SystemMessage(prompt)]


def _text_of(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, StringPromptValue):
        return value.text
    if isinstance(value, ChatPromptValue):
        return value.messages[0].text
    assert isinstance(value, list)
    return str(value[0].text)


async def test_streams_yield_the_whole_result_once(
    bloated_prompt: str, summariser: ScriptedCompressorModel
) -> None:
    compressor = PromptCompressor(summariser, cache={})
    expected = compressor.invoke(bloated_prompt)

    assert list(compressor.stream(bloated_prompt)) == [expected]
    assert [chunk async for chunk in compressor.astream(bloated_prompt)] == [expected]


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        ({"question": "What is the refund window?"}, "dict"),
        ({"role": "user", "content": "Please answer."}, "dict"),
        (42, "int"),
        ([HumanMessage("hi"), 42], "message 1"),
    ],
    ids=["chain-variables", "one-message-dict", "number", "list-with-a-number"],
)
def test_input_that_is_not_a_prompt_is_refused_with_a_typed_error(
    wrong: object, named: str
) -> None:
    """A dict's keys must not become human messages: refused, as a chat model refuses it."""
    with pytest.raises(InvalidRequestError, match=named):
        PromptCompressor(min_tokens=0).invoke(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prompt", "named"),
    [
        ("Please note that the caf\udce9 is open every day. " * 20, "The prompt"),
        (
            StringPromptValue(text="Please note that the caf\udce9 is open every day. " * 20),
            "The prompt",
        ),
        (
            [SystemMessage("Be kind."), HumanMessage("Please note that caf\udce9 opens. " * 20)],
            r"Message 1 \(human\)",
        ),
        (
            [HumanMessage(content=[{"type": "text", "text": "Hi \ud800 there."}])],
            r"Message 0 \(human\)",
        ),
    ],
    ids=["text", "string-prompt", "message", "text-block"],
)
def test_a_lone_surrogate_is_refused_naming_where_it_is(
    prompt: object, named: str, summariser: ScriptedCompressorModel
) -> None:
    """No provider takes one. It crashed the compressor, deterministic strategy alone too,
    with a bare UnicodeEncodeError (hashing the memo key) naming neither it nor the fix."""
    for compressor in (PromptCompressor(min_tokens=0), PromptCompressor(summariser, min_tokens=0)):
        expected = rf"{named} has a lone surrogate .* errors='replace'"
        with pytest.raises(InvalidRequestError, match=expected):
            compressor.invoke(prompt)  # type: ignore[arg-type]
    assert summariser.requests == []


def test_the_free_rules_may_drop_a_rule_said_again_with_its_numbers() -> None:
    """The numbers check reads figures in order and counts repeats, yet a sentence the
    rules drop as said before (filler aside) takes its figures with it, legitimately."""
    rules = "Please note that refunds reach the card within 5 business days of receipt.\n\n"
    rules += "Orders above 120 euros ship for free.\n\n"
    rules += "Refunds reach the card within 5 business days of receipt. Ask for the order id."
    result = PromptCompressor(strategies=("deterministic",), min_tokens=0).compress_messages(
        [SystemMessage(rules)]
    )
    assert result.fallback_reason is None
    assert result.messages[0].text.count("5 business days") == 1


def test_a_rewrite_that_swaps_two_figures_keeps_the_original() -> None:
    rules = "Revenue was 5 million dollars last year, and the cost was 7 million dollars. " * 3
    swapped = ScriptedCompressorModel(rewrite=lambda text: "Revenue 7M dollars, cost 5M.")
    result = PromptCompressor(swapped, strategies=("llm",), min_tokens=0).compress_messages(
        [SystemMessage(rules)]
    )
    assert result.messages[0].text == rules
    assert result.fallback_reason == (
        "message 0: the compressed text states number 5 after 7, out of the original's order"
    )


def test_the_free_rules_may_drop_a_rule_said_again_with_its_tool_name() -> None:
    """The names check counts each name's mentions, yet a sentence the rules drop as
    said before (filler aside) takes its names with it, legitimately."""
    rules = "Please note that you must call lookup_order before any refund is made.\n\n"
    rules += "Orders above 120 euros ship for free.\n\n"
    rules += "You must call lookup_order before any refund is made. Then call create_return."
    result = PromptCompressor(strategies=("deterministic",), min_tokens=0).compress_messages(
        [SystemMessage(rules)]
    )
    assert result.fallback_reason is None
    assert result.messages[0].text.count("lookup_order") == 1


def test_a_rewrite_that_swaps_two_tool_names_keeps_the_original() -> None:
    rules = "Copy the file at source_path to target_path, and never the other way. " * 3
    swapped = ScriptedCompressorModel(rewrite=lambda text: "Copy target_path to source_path.")
    result = PromptCompressor(swapped, strategies=("llm",), min_tokens=0).compress_messages(
        [SystemMessage(rules)]
    )
    assert result.messages[0].text == rules
    assert result.fallback_reason == (
        "message 0: the compressed text states name source_path after target_path, "
        "out of the original's order"
    )


_REFUND_STEPS = (
    "1. Call lookup_order with the order id.\n"
    "2. If it is older than 30 days, call escalate_to_human.\n"
    "3. Otherwise call refund_order within 5 minutes."
)


@pytest.mark.parametrize(
    "rules",
    [
        f"Refunds:\n\n{_REFUND_STEPS}\n\nBe kind to every customer.\n\n{_REFUND_STEPS}",
        "Refunds reach the card within 5 business days\nof receipt, after refund_order.\n\n"
        "Be kind to every customer.\n\n"
        "Refunds reach the card within 5 business days of receipt, after refund_order.",
        "Please  note that refunds reach the card within 5 business days via refund_order.\n\n"
        "Be kind. Refunds reach the card within 5 business days via refund_order.",
    ],
    ids=["numbered-list-said-again", "wrapped-once-not-twice", "filler-spaced-wide"],
)
def test_the_free_rules_output_is_sent_when_they_drop_a_paragraph_said_before(
    rules: str,
) -> None:
    """The checks refused what the free rules did, so the prompt went out whole: a
    numbered list said again (numbered steps were never repeats to the checks), a
    paragraph wrapped once and not its repeat, a sentence whose filler had two spaces."""
    result = PromptCompressor(strategies=("deterministic",), min_tokens=0).compress_messages(
        [SystemMessage(rules)]
    )
    assert result.fallback_reason is None
    assert count_text(result.messages[0].text) < count_text(rules)
    assert result.messages[0].text.count("refund_order") == 1


def test_a_numbered_step_said_again_in_another_list_is_kept() -> None:
    """A list that differs is another procedure: its steps are done again, so the free
    rules keep them and the checks accept that output as it is."""
    exchange_steps = _REFUND_STEPS.replace("refund_order", "swap_order")
    rules = f"{_REFUND_STEPS}\n\nFor exchanges:\n\n{exchange_steps}"
    result = PromptCompressor(strategies=("deterministic",), min_tokens=0).compress_messages(
        [SystemMessage(rules)]
    )
    assert result.fallback_reason is None
    assert result.messages[0].text == rules
