"""CostCallbackHandler on calls that end without an answer yet were paid for.

The real ChatOpenAI against the test server: a structured answer cut at the length limit
(billed, the client raises), a stream cut by the provider or left by its consumer, and
calls cancelled while the provider was answering. Each is priced as the router prices
it (router/_record.py, router/_attempts.py): exactly when the provider said what it
billed, else a tiktoken estimate of the prompt and what was delivered, flagged.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import openai
import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel

from langchain_costrouter.callbacks import CostCallbackHandler
from langchain_costrouter.ledger import InMemoryLedger, LedgerRow
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from langchain_costrouter.tokens import count_answer, count_messages
from tests.server_fixtures import openai_chat

PROMPT = ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "{question}")])
QUESTION = {"question": "Tell me about the history of Paris in some detail."}
MILLION = Decimal(10**6)
# gpt-4o-mini per token: $0.15 / $0.60 per million
INPUT, OUTPUT = Decimal("0.15") / MILLION, Decimal("0.6") / MILLION


class City(BaseModel):
    city: str


def prompt_tokens() -> int:
    return count_messages(PROMPT.invoke(QUESTION).to_messages())


def the_row(handler: CostCallbackHandler) -> LedgerRow:
    (row,) = handler.ledger.rows()
    return row


def assert_estimated(row: LedgerRow, error: str, delivered: list[BaseMessage]) -> None:
    """Billed on the prompt and the chunks delivered, flagged as an estimate."""
    output = count_answer(sum(delivered, AIMessageChunk(""))) if delivered else 0
    assert (row.error, row.accepted, row.usage_estimated) == (error, False, True)
    assert (row.input_tokens, row.output_tokens) == (prompt_tokens(), output)
    assert row.cost_usd == prompt_tokens() * INPUT + output * OUTPUT


def test_a_structured_answer_cut_at_the_length_limit_is_billed(
    openai_server: LocalOpenAIServer,
) -> None:
    # openai's parser raises LengthFinishReasonError with the completion it was billed for.
    openai_server.script(
        [Reply('{"city": "Par', finish_reason="length", prompt_tokens=100, completion_tokens=5)]
    )
    handler = CostCallbackHandler(InMemoryLedger())
    model = openai_chat(openai_server, model="gpt-4o-mini", max_tokens=5)
    with pytest.raises(openai.LengthFinishReasonError):
        model.with_structured_output(City, method="json_schema").invoke(
            "Where?", config={"callbacks": [handler], "metadata": {"task": "extract"}}
        )
    row = the_row(handler)
    assert (row.error, row.task, row.usage_estimated) == (
        "LengthFinishReasonError",
        "extract",
        False,
    )
    assert (row.input_tokens, row.output_tokens) == (100, 5)
    assert row.cost_usd == 100 * INPUT + 5 * OUTPUT


def test_a_stream_cut_by_the_provider_is_billed_for_what_it_delivered(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Fault("drop", after_chunks=3)])
    handler = CostCallbackHandler(InMemoryLedger())
    delivered: list[BaseMessage] = []
    stream = (PROMPT | openai_chat(openai_server, model="gpt-4o-mini")).stream(
        QUESTION, config={"callbacks": [handler]}
    )
    with pytest.raises(openai.APIConnectionError):
        delivered.extend(stream)
    assert any(chunk.content for chunk in delivered)
    assert_estimated(the_row(handler), "OpenAIConnectionError", delivered)


def test_a_stream_its_consumer_stops_reading_is_billed_for_what_it_delivered(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.set_latency(0, per_chunk=0.05)
    handler = CostCallbackHandler(InMemoryLedger())
    stream = (PROMPT | openai_chat(openai_server, model="gpt-4o-mini")).stream(
        QUESTION, config={"callbacks": [handler]}
    )
    delivered = [next(stream), next(stream), next(stream)]
    stream.close()
    assert any(chunk.content for chunk in delivered)
    assert_estimated(the_row(handler), "GeneratorExit", delivered)


def test_a_cancelled_astream_is_billed_for_what_it_delivered(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.set_latency(0, per_chunk=0.2)
    handler = CostCallbackHandler(InMemoryLedger())
    delivered: list[BaseMessage] = []

    async def consume() -> None:
        model = PROMPT | openai_chat(openai_server, model="gpt-4o-mini")
        async for chunk in model.astream(QUESTION, config={"callbacks": [handler]}):
            delivered.append(chunk)

    async def cancel_after_some_chunks() -> None:
        task = asyncio.create_task(consume())
        while sum(bool(chunk.content) for chunk in delivered) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_after_some_chunks())
    assert_estimated(the_row(handler), "CancelledError", delivered)


@pytest.mark.parametrize("in_a_chain", [False, True])
def test_a_cancelled_ainvoke_is_billed_on_its_prompt(
    openai_server: LocalOpenAIServer, in_a_chain: bool
) -> None:
    # langchain-core reports no end and no error of a chat model's ainvoke cancelled
    # while the provider answers: the run was left open, and nothing was recorded.
    openai_server.set_latency(2.0)
    handler = CostCallbackHandler(InMemoryLedger())
    model = openai_chat(openai_server, model="gpt-4o-mini")
    config = {"callbacks": [handler], "metadata": {"task": "qa"}}

    async def call() -> None:
        if in_a_chain:
            await (PROMPT | model).ainvoke(QUESTION, config=config)
        else:
            await model.ainvoke(PROMPT.invoke(QUESTION).to_messages(), config=config)

    async def cancel_while_the_provider_answers() -> None:
        task = asyncio.create_task(call())
        while not openai_server.request_count():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_while_the_provider_answers())
    row = the_row(handler)
    assert row.task == "qa"
    assert_estimated(row, "CancelledError", [])


def test_a_cancellation_its_caller_swallows_is_billed_and_leaves_no_run_open(
    openai_server: LocalOpenAIServer,
) -> None:
    # asyncio.timeout cancels the call, then turns the cancellation into TimeoutError: the
    # task lives on, so no cancelled task showed the run was left, and langchain-core
    # reports nothing of a cancelled ainvoke. The run stayed open for the task's life and
    # was never recorded.
    openai_server.set_latency(2.0, model="gpt-4o-mini")
    handler = CostCallbackHandler(InMemoryLedger())
    config = RunnableConfig(callbacks=[handler], metadata={"task": "qa"})
    messages = PROMPT.invoke(QUESTION).to_messages()
    seen: list[tuple[list[LedgerRow], bool]] = []

    async def worker() -> None:
        slow = openai_chat(openai_server, model="gpt-4o-mini")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await slow.ainvoke(messages, config=config)
        await openai_chat(openai_server, model="gpt-4o").ainvoke(messages, config=config)
        seen.append((handler.ledger.rows(), handler.ignore_chain))  # the task still runs

    asyncio.run(worker())
    ((rows, nothing_open),) = seen
    (cancelled,) = [row for row in rows if row.error is not None]
    assert cancelled.task == "qa"
    assert_estimated(cancelled, "CancelledError", [])
    assert [(row.model, row.error) for row in rows if row.error is None] == [("gpt-4o", None)]
    assert nothing_open


def test_a_provider_error_before_any_answer_is_still_not_billed(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Fault("429")])
    handler = CostCallbackHandler(InMemoryLedger())
    with pytest.raises(openai.RateLimitError):
        (PROMPT | openai_chat(openai_server, model="gpt-4o-mini")).invoke(
            QUESTION, config={"callbacks": [handler]}
        )
    row = the_row(handler)
    assert (row.error, row.cost_usd, row.input_tokens, row.usage_estimated) == (
        "OpenAIRateLimitError",
        None,
        0,
        False,
    )
    assert row.status_code == 429


def test_async_calls_that_end_are_recorded_exactly_and_leave_no_run_open(
    openai_server: LocalOpenAIServer,
) -> None:
    # A chain's astream pulls each chunk in a task of its own: the task its run started
    # in ends after the first chunk, and that is no cancellation. One long-lived task
    # making call after call (a queue consumer) is watched and unwatched each time.
    openai_server.script([Reply("Paris.", prompt_tokens=100, completion_tokens=10)] * 8)
    handler = CostCallbackHandler(InMemoryLedger())
    chain = PROMPT | openai_chat(openai_server, model="gpt-4o-mini")

    async def calls() -> None:
        for _ in range(4):
            async for _chunk in chain.astream(QUESTION, config={"callbacks": [handler]}):
                pass
            await chain.ainvoke(QUESTION, config={"callbacks": [handler]})

    asyncio.run(calls())
    rows = handler.ledger.rows()
    assert len(rows) == 8
    assert {(row.usage_estimated, row.error, row.cost_usd) for row in rows} == {
        (False, None, 100 * INPUT + 10 * OUTPUT)
    }
    assert handler.ignore_chain  # no model run left open
