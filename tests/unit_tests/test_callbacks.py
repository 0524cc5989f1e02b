"""CostCallbackHandler on in-process chat models (the real ChatOpenAI is in integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler, CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, BaseLLM, LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, Generation, LLMResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.callbacks import CostCallbackHandler
from langchain_costrouter.errors import AllTiersFailedError, UnknownPriceWarning
from langchain_costrouter.ledger import InMemoryLedger, rows_from_costrouter
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.testing.models import ScriptedChatModel
from langchain_costrouter.tokens import count_messages, count_text

PROMPT = ChatPromptTemplate.from_messages([("user", "{question}")])


def answer(
    text: str = "fine", *, inp: int = 1000, out: int = 200, cached: int = 0, reasoning: int = 0
) -> AIMessage:
    return AIMessage(
        text,
        usage_metadata={
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "input_token_details": {"cache_read": cached},
            "output_token_details": {"reasoning": reasoning},
        },
    )


def mini(*answers: Any) -> ScriptedChatModel:
    return ScriptedChatModel(model="gpt-4o-mini", provider="openai", answers=list(answers))


@pytest.fixture
def handler() -> CostCallbackHandler:
    return CostCallbackHandler(InMemoryLedger())


def test_cached_and_reasoning_tokens_priced_exactly(handler: CostCallbackHandler) -> None:
    chain = PROMPT | mini(answer(cached=400, reasoning=150))
    chain.invoke({"question": "hi"}, config={"callbacks": [handler], "metadata": {"task": "chat"}})
    (row,) = handler.ledger.rows()
    # gpt-4o-mini: 600 x $0.15 + 400 x $0.075 + 200 x $0.60 per million (reasoning inside output)
    assert row.cost_usd == Decimal("0.00024")
    assert (row.cache_read_tokens, row.reasoning_tokens, row.output_tokens) == (400, 150, 200)
    assert (row.task, row.model, row.provider, row.price_source) == (
        "chat",
        "gpt-4o-mini",
        "openai",
        "price_map",
    )
    assert row.baseline_cost_usd == row.cost_usd  # no reference model: measured against itself
    assert row.usage_estimated is False


def test_reference_model_prices_the_baseline() -> None:
    handler = CostCallbackHandler(InMemoryLedger(), reference_model="gpt-5")
    mini(answer()).invoke("hi", config={"callbacks": [handler]})
    (row,) = handler.ledger.rows()
    assert row.baseline_cost_usd == Decimal("0.00325")  # 1000 x $1.25 + 200 x $10 per million
    assert row.reference_model == "gpt-5"
    (summary,) = handler.ledger.summary(by="all")
    assert summary.savings_pct == pytest.approx(100 * (1 - 0.00027 / 0.00325))


def test_task_label_order_metadata_then_tag_then_run_name(handler: CostCallbackHandler) -> None:
    model = mini(answer())
    model.invoke(
        "a", config={"callbacks": [handler], "metadata": {"task": "m"}, "tags": ["task:t"]}
    )
    model.invoke("b", config={"callbacks": [handler], "tags": ["other", "task:t"]})
    model.invoke("c", config={"callbacks": [handler], "run_name": "summarize"})
    model.invoke("d", config={"callbacks": [handler]})
    assert [row.task for row in handler.ledger.rows()] == [
        "m",
        "t",
        "summarize",
        "ScriptedChatModel",
    ]


def test_stream_is_recorded_once_from_the_final_chunk(handler: CostCallbackHandler) -> None:
    chunks = list(
        mini(answer("one two three", cached=400)).stream("hi", config={"callbacks": [handler]})
    )
    assert len(chunks) > 2
    (row,) = handler.ledger.rows()
    assert row.cost_usd == Decimal("0.00024")  # the same as invoke: usage of the last chunk
    assert row.usage_estimated is False


def test_stream_without_usage_is_estimated_and_flagged() -> None:
    handler = CostCallbackHandler(
        InMemoryLedger(), prices=PriceTable({"GenericFakeChatModel": ModelPrice(1, 2)})
    )
    model = GenericFakeChatModel(messages=iter([AIMessage("streamed words come back")]))
    messages = PROMPT.invoke({"question": "how many tokens?"}).to_messages()
    for _ in model.stream(messages, config={"callbacks": [handler]}):
        pass
    (row,) = handler.ledger.rows()
    assert row.usage_estimated is True
    assert row.input_tokens == count_messages(messages)
    assert row.output_tokens == count_text("streamed words come back")
    assert row.cost_usd == (row.input_tokens * 1 + row.output_tokens * 2) * Decimal("1e-6")
    (summary,) = handler.ledger.summary(by="all")
    assert summary.estimated == 1


def test_error_is_a_row_with_its_type_and_no_cost(handler: CostCallbackHandler) -> None:
    with pytest.raises(TimeoutError):
        mini(TimeoutError("slow")).invoke("hi", config={"callbacks": [handler]})
    (row,) = handler.ledger.rows()
    assert (row.error, row.cost_usd, row.accepted, row.model) == (
        "TimeoutError",
        None,
        False,
        "gpt-4o-mini",
    )
    (summary,) = handler.ledger.summary(by="all")
    assert (summary.errors, summary.unpriced) == (1, 0)


def test_unknown_price_is_unknown_not_zero(handler: CostCallbackHandler) -> None:
    model = ScriptedChatModel(model="in-house-llm", provider="local", answers=[answer()])
    with pytest.warns(UnknownPriceWarning, match="in-house-llm"):
        model.invoke("hi", config={"callbacks": [handler]})
    (row,) = handler.ledger.rows()
    assert (row.cost_usd, row.price_source) == (None, "unknown")


def test_routed_answer_records_every_attempt_once(handler: CostCallbackHandler) -> None:
    record = {
        "task": "classification",
        "cache_hit": False,
        "escalated": True,
        "attempts": [
            {
                "model": "gpt-4o-mini",
                "tier": 0,
                "usage": {"input_tokens": 10, "output_tokens": 1},
                "cost_usd": 0.0000021,
                "baseline_cost_usd": 0.0000225,
                "accepted": False,
                "price_source": "price_map",
                "reason": "check failed",
            },
            {
                "model": "gpt-5",
                "tier": 1,
                "usage": {"input_tokens": 10, "output_tokens": 2},
                "cost_usd": 0.0000325,
                "baseline_cost_usd": 0.0000325,
                "accepted": True,
                "price_source": "price_map",
                "reason": "check passed",
            },
        ],
    }
    routed = AIMessage("yes", response_metadata={"costrouter": record, "model_name": "gpt-5"})
    (PROMPT | mini(routed)).invoke({"question": "q"}, config={"callbacks": [handler]})
    rows = handler.ledger.rows()
    assert [(r.model, r.tier, r.accepted) for r in rows] == [
        ("gpt-4o-mini", 0, False),
        ("gpt-5", 1, True),
    ]
    assert [r.cost_usd for r in rows] == [Decimal("0.0000021"), Decimal("0.0000325")]
    assert {r.task for r in rows} == {"classification"}


def test_router_giving_up_records_its_failed_attempts(handler: CostCallbackHandler) -> None:
    attempts: list[dict[str, object]] = [
        {"model": "a", "tier": 0, "error": "ProviderError", "reason": "500"},
        {"model": "b", "tier": 1, "error": "ProviderError", "reason": "timeout"},
    ]
    with pytest.raises(AllTiersFailedError):
        mini(AllTiersFailedError("chat", attempts)).invoke("hi", config={"callbacks": [handler]})
    assert [(r.model, r.error, r.task) for r in handler.ledger.rows()] == [
        ("a", "ProviderError", "chat"),
        ("b", "ProviderError", "chat"),
    ]


class WrapperChatModel(BaseChatModel):
    """Delegates through the child's invoke: a nested model run (docs/architecture.md 3.2)."""

    child: Runnable[Any, BaseMessage]
    report_usage: bool = True
    batched: bool = False

    @property
    def _llm_type(self) -> str:
        return "wrapper"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        assert run_manager is not None
        # What a wrapper passing its callbacks on does: the child's run nests in ours.
        callbacks = CallbackManager(
            handlers=run_manager.handlers,
            inheritable_handlers=run_manager.inheritable_handlers,
            parent_run_id=run_manager.run_id,
        )
        if self.batched:
            (reply,) = self.child.batch([messages], config={"callbacks": callbacks})
        else:
            reply = self.child.invoke(messages, config={"callbacks": callbacks})
        if not self.report_usage:
            reply = AIMessage(reply.content)
        return ChatResult(generations=[ChatGeneration(message=reply)])


@pytest.mark.parametrize("outer_reports_usage", [True, False])
def test_nested_model_runs_are_counted_once(
    handler: CostCallbackHandler, outer_reports_usage: bool
) -> None:
    wrapper = WrapperChatModel(child=mini(answer(cached=400)), report_usage=outer_reports_usage)
    (PROMPT | wrapper).invoke({"question": "q"}, config={"callbacks": [handler]})
    (row,) = handler.ledger.rows()
    assert row.cost_usd == Decimal("0.00024")


def _through_retry(report_usage: bool) -> WrapperChatModel:
    flaky = mini(RuntimeError("503"), answer(cached=400))
    retrying = flaky.with_retry(stop_after_attempt=2, wait_exponential_jitter=False)
    return WrapperChatModel(child=retrying, report_usage=report_usage)


def _through_lambda_pipe(report_usage: bool) -> WrapperChatModel:
    piped = RunnableLambda(lambda messages: messages) | mini(answer(cached=400))
    return WrapperChatModel(child=piped, report_usage=report_usage)


def _through_fallbacks(report_usage: bool) -> WrapperChatModel:
    # Batched: langchain-core's fallbacks ``invoke`` hands its children the caller's
    # callbacks (so they nest directly), its ``batch`` and ``stream`` nest them in its run.
    fallbacks = mini(RuntimeError("503")).with_fallbacks([mini(answer(cached=400))])
    return WrapperChatModel(child=fallbacks, report_usage=report_usage, batched=True)


@pytest.mark.parametrize("outer_reports_usage", [True, False])
@pytest.mark.parametrize("wrap", [_through_retry, _through_lambda_pipe, _through_fallbacks])
def test_model_runs_nested_through_chains_are_counted_once(
    handler: CostCallbackHandler,
    wrap: Callable[[bool], WrapperChatModel],
    outer_reports_usage: bool,
) -> None:
    (PROMPT | wrap(outer_reports_usage)).invoke({"question": "q"}, config={"callbacks": [handler]})
    rows = handler.ledger.rows()
    # Folded like a direct child: the outer run's usage when it reports any, else what
    # the nested runs spent (a failed attempt included, at no cost).
    assert [row.cost_usd for row in rows if row.error is None] == [Decimal("0.00024")]
    if outer_reports_usage:
        assert len(rows) == 1
    assert handler.ignore_chain  # no chain links left behind


def test_langchain_cache_hit_costs_nothing_and_records_the_avoided_cost(
    handler: CostCallbackHandler,
) -> None:
    model = mini(answer(cached=400))
    model.cache = InMemoryCache()
    model.invoke("same prompt", config={"callbacks": [handler]})
    model.invoke("same prompt", config={"callbacks": [handler]})
    miss, hit = handler.ledger.rows()
    assert (miss.cache_hit, miss.cost_usd) == (False, Decimal("0.00024"))
    assert (hit.cache_hit, hit.cost_usd, hit.baseline_cost_usd) == (
        True,
        Decimal(0),
        Decimal("0.00024"),
    )
    (summary,) = handler.ledger.summary(by="all")
    assert summary.cache_hit_rate == 0.5


def test_batch_threads_and_async_tasks_each_make_one_row(handler: CostCallbackHandler) -> None:
    model = mini(answer())
    model.batch([f"q{i}" for i in range(40)], config={"callbacks": [handler], "max_concurrency": 8})

    async def many() -> None:
        await asyncio.gather(
            *(model.ainvoke(f"a{i}", config={"callbacks": [handler]}) for i in range(40))
        )

    asyncio.run(many())
    rows = handler.ledger.rows()
    assert len(rows) == 80
    assert len({row.run_id for row in rows}) == 80
    assert sum((row.cost_usd for row in rows if row.cost_usd), Decimal(0)) == 80 * Decimal(
        "0.00027"
    )


def test_a_ledger_url_is_opened(tmp_path: Any) -> None:
    handler = CostCallbackHandler(f"sqlite:///{tmp_path / 'l.db'}")
    mini(answer()).invoke("hi", config={"callbacks": [handler]})
    handler.ledger.close()
    assert len(CostCallbackHandler(f"sqlite:///{tmp_path / 'l.db'}").ledger.rows()) == 1


def test_a_router_and_a_handler_on_one_ledger_record_a_call_once(
    handler: CostCallbackHandler,
) -> None:
    record = {
        "task": "chat",
        "run_id": "router-run",
        "attempts": [{"model": "gpt-4o-mini", "cost_usd": 0.0001, "accepted": True}],
    }
    handler.ledger.add(rows_from_costrouter(record, run_id="router-run", when=datetime.now(UTC)))
    routed = AIMessage("ok", response_metadata={"costrouter": record})
    mini(routed).invoke("hi", config={"callbacks": [handler]})
    (row,) = handler.ledger.rows()
    assert (row.run_id, row.cost_usd) == ("router-run", Decimal("0.0001"))


def test_routed_chat_model_with_the_handlers_ledger_counts_once() -> None:
    ledger = InMemoryLedger()
    router = RoutedChatModel(routes={"chat": [mini(answer())]}, default_task="chat", ledger=ledger)
    router.invoke("hi", config={"callbacks": [CostCallbackHandler(ledger)]})
    (row,) = ledger.rows()
    assert (row.model, row.cost_usd) == ("gpt-4o-mini", Decimal("0.00027"))


def test_a_compressor_in_a_chain_is_recorded_as_compression_spend() -> None:
    """``prompt | PromptCompressor(llm) | model``: the compressor's call is a "compressor"
    row, and spend the call would not have made without the package (a baseline of 0,
    its cost compression's), not an answer that saved against the reference model."""
    from pathlib import Path

    from langchain_costrouter.compression import PromptCompressor
    from langchain_costrouter.compression.scripted import (
        ScriptedCompressorModel,
        keep_leading_sentences,
    )

    bloated = (
        Path(__file__).parents[1] / "data" / "compression" / "bloated_system_prompt.md"
    ).read_text()
    prices = PriceTable({"scripted-compressor": ModelPrice(input_per_mtok=1, output_per_mtok=2)})
    handler = CostCallbackHandler(InMemoryLedger(), prices=prices, reference_model="gpt-5")
    compressor = PromptCompressor(ScriptedCompressorModel(rewrite=keep_leading_sentences(0.5)))
    chain = (
        RunnableLambda(lambda q: [("system", bloated), ("user", q)]) | compressor | mini(answer())
    )
    chain.invoke("hi", config={"callbacks": [handler], "metadata": {"task": "chat"}})
    spent, answered = handler.ledger.rows()
    assert (spent.model, spent.role, answered.role) == (
        "scripted-compressor",
        "compressor",
        "answer",
    )
    assert spent.cost_usd is not None and spent.cost_usd > 0
    assert spent.baseline_cost_usd == 0
    assert spent.saved_compression_usd == -spent.cost_usd
    assert (spent.saved_routing_usd, spent.saved_cascade_usd) == (0, 0)
    (summary,) = handler.ledger.summary(by="all")
    assert summary.compression_cost_usd == spent.cost_usd
    assert summary.savings_usd == answered.saved_routing_usd - spent.cost_usd


def test_a_label_in_the_config_s_configurable_names_the_call(handler: CostCallbackHandler) -> None:
    # The key RoutedChatModel reads (README's "configurable["task"]"); langchain-core hands
    # configurable to LangSmith's tracer only, never to a handler's run metadata.
    chain = PROMPT | mini(answer(), answer())
    config = RunnableConfig(callbacks=[handler], configurable={"task": "summarise"})
    chain.invoke({"question": "q"}, config=config)
    config["metadata"] = {"task": "given"}  # run metadata wins, as in the router
    chain.invoke({"question": "q"}, config=config)
    assert [row.task for row in handler.ledger.rows()] == ["summarise", "given"]


class CompletionLLM(BaseLLM):
    """Answers a batch of prompts in one request, as OpenAI's completions API does: one
    usage for the whole batch in ``llm_output`` (langchain_openai.OpenAI's shape). Each
    prompt costs its tiktoken count in, and its answer's count out."""

    @property
    def _llm_type(self) -> str:
        return "completion"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        answers = [" ".join(["word"] * (3 + 7 * i)) for i in range(len(prompts))]
        usage = {
            "prompt_tokens": sum(count_text(prompt) for prompt in prompts),
            "completion_tokens": sum(count_text(text) for text in answers),
        }
        return LLMResult(
            generations=[[Generation(text=text)] for text in answers],
            llm_output={"token_usage": usage, "model_name": "completion-model"},
        )

    async def _agenerate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
        return self._generate(prompts)


BATCH = ["Say yes.", "Summarise the history of Paris in three long paragraphs, please.", "Hi"]


@pytest.mark.parametrize("how", ["generate", "batch", "agenerate"])
def test_a_completion_batch_records_each_prompt_s_tokens_once(how: str) -> None:
    # langchain-core ends one run per prompt and hands the first the whole batch's usage
    # (LLMResult.flatten): it was recorded on the first prompt, and the others estimated
    # on top of it.
    prices = PriceTable({"completion-model": ModelPrice(input_per_mtok=1, output_per_mtok=2)})
    handler = CostCallbackHandler(InMemoryLedger(), prices=prices)
    callbacks: list[BaseCallbackHandler] = [handler]
    llm = CompletionLLM()
    if how == "generate":
        result = llm.generate(BATCH, callbacks=callbacks)
    elif how == "batch":
        llm.batch(list[LanguageModelInput](BATCH), config={"callbacks": callbacks})
        result = llm.generate(BATCH)
    else:
        result = asyncio.run(llm.agenerate(BATCH, callbacks=callbacks))
    usage = (result.llm_output or {})["token_usage"]
    rows = handler.ledger.rows()
    assert [(row.input_tokens, row.output_tokens) for row in rows] == [
        (count_text(prompt), count_text(generations[0].text))
        for prompt, generations in zip(BATCH, result.generations, strict=True)
    ]
    assert sum(row.input_tokens for row in rows) == usage["prompt_tokens"]
    assert sum(row.output_tokens for row in rows) == usage["completion_tokens"]
    cost = (usage["prompt_tokens"] + 2 * usage["completion_tokens"]) * Decimal("1e-6")
    assert sum(row.cost_usd or 0 for row in rows) == cost
    assert {(row.model, row.usage_estimated, row.error) for row in rows} == {
        ("completion-model", False, None)
    }
    assert handler.ignore_chain  # no run left open
