"""CostCallbackHandler on a chain driven by the real ChatOpenAI against the test server."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.prompts import ChatPromptTemplate

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.cache import CostRouterLLMCache
from langchain_costrouter.callbacks import CostCallbackHandler
from langchain_costrouter.cli import main
from langchain_costrouter.ledger import InMemoryLedger, open_ledger
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply, ToolCall
from langchain_costrouter.tokens import count_messages, count_text
from tests.server_fixtures import openai_chat
from tests.unit_tests.test_callbacks import WrapperChatModel

PROMPT = ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "{question}")])
MILLION = Decimal(10**6)


def run_chain(
    server: LocalOpenAIServer, handler: CostCallbackHandler, model: str, **kwargs: object
) -> None:
    chain = PROMPT | openai_chat(server, model=model, **kwargs)
    chain.invoke(
        {"question": "What is the capital of France?"},
        config={"callbacks": [handler], "metadata": {"task": "qa"}},
    )


def test_cached_prompt_tokens(openai_server: LocalOpenAIServer) -> None:
    openai_server.script(
        [Reply("Paris.", prompt_tokens=2000, completion_tokens=300, cached_tokens=1024)]
    )
    handler = CostCallbackHandler(InMemoryLedger())
    run_chain(openai_server, handler, "gpt-4o-mini")
    (row,) = handler.ledger.rows()
    # gpt-4o-mini: 976 uncached x $0.15 + 1024 cached x $0.075 + 300 out x $0.60 per million
    assert row.cost_usd == Decimal("0.0004032")
    assert (row.task, row.model, row.input_tokens, row.cache_read_tokens) == (
        "qa",
        "gpt-4o-mini",
        2000,
        1024,
    )


def test_reasoning_tokens(openai_server: LocalOpenAIServer) -> None:
    openai_server.script(
        [Reply("Paris.", prompt_tokens=1500, completion_tokens=800, reasoning_tokens=600)]
    )
    handler = CostCallbackHandler(InMemoryLedger())
    run_chain(openai_server, handler, "gpt-5-mini")
    (row,) = handler.ledger.rows()
    # gpt-5-mini: 1500 x $0.25 + 800 x $2 per million; the 600 reasoning tokens are inside the 800
    assert row.cost_usd == Decimal("0.001975")
    assert (row.output_tokens, row.reasoning_tokens) == (800, 600)


def test_stream_with_usage_is_exact_and_recorded_once(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Reply("The capital is Paris.", prompt_tokens=100, completion_tokens=10)])
    handler = CostCallbackHandler(InMemoryLedger())
    chain = PROMPT | openai_chat(openai_server, model="gpt-4o-mini")
    chunks = list(chain.stream({"question": "capital?"}, config={"callbacks": [handler]}))
    assert len(chunks) > 2
    (row,) = handler.ledger.rows()
    assert row.cost_usd == Decimal("0.000021")  # 100 x $0.15 + 10 x $0.60 per million
    assert row.usage_estimated is False


def test_stream_without_usage_is_estimated(openai_server: LocalOpenAIServer) -> None:
    text = "The capital of France is Paris."
    openai_server.script([Reply(text)])
    handler = CostCallbackHandler(InMemoryLedger())
    chain = PROMPT | openai_chat(openai_server, model="gpt-4o-mini", stream_usage=False)
    for _ in chain.stream({"question": "capital?"}, config={"callbacks": [handler]}):
        pass
    (row,) = handler.ledger.rows()
    prompt_tokens = count_messages(PROMPT.invoke({"question": "capital?"}).to_messages())
    assert row.usage_estimated is True
    assert (row.input_tokens, row.output_tokens) == (prompt_tokens, count_text(text))
    assert (
        row.cost_usd
        == (prompt_tokens * Decimal("0.15") + count_text(text) * Decimal("0.6")) / MILLION
    )


def test_a_usage_of_zero_tokens_is_estimated_not_free(openai_server: LocalOpenAIServer) -> None:
    # A server that did not count reports zeros: no call has an empty prompt.
    text = "The capital of France is Paris."
    openai_server.script([Reply(text, prompt_tokens=0, completion_tokens=0)])
    handler = CostCallbackHandler(InMemoryLedger())
    run_chain(openai_server, handler, "gpt-4o-mini")
    (row,) = handler.ledger.rows()
    prompt_tokens = count_messages(
        PROMPT.invoke({"question": "What is the capital of France?"}).to_messages()
    )
    assert row.usage_estimated is True
    assert (row.input_tokens, row.output_tokens) == (prompt_tokens, count_text(text))
    assert row.cost_usd is not None and row.cost_usd > 0


def test_a_streamed_tool_call_without_usage_counts_its_arguments(
    openai_server: LocalOpenAIServer,
) -> None:
    # The router estimates a tool call's output from its arguments; so must the handler.
    arguments = {"city": "Paris", "units": "metric", "days": 7}
    openai_server.script([Reply(None, tool_calls=(ToolCall("forecast", arguments),))])
    handler = CostCallbackHandler(InMemoryLedger())
    model = openai_chat(openai_server, model="gpt-4o-mini", stream_usage=False)
    for _ in model.bind_tools([_forecast]).stream("Weather?", config={"callbacks": [handler]}):
        pass
    (row,) = handler.ledger.rows()
    assert row.usage_estimated is True
    assert row.output_tokens == count_text(str(arguments))


def _forecast(city: str, units: str, days: int) -> str:
    """The weather in ``city`` for ``days`` days."""
    return ""


def test_langchain_cache_hit_is_free_and_records_the_avoided_cost(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Reply("Paris.", prompt_tokens=400, completion_tokens=100)])
    handler = CostCallbackHandler(InMemoryLedger(), reference_model="gpt-5")
    model = openai_chat(openai_server, model="gpt-4o-mini", cache=InMemoryCache())
    for _ in range(2):
        (PROMPT | model).invoke({"question": "capital?"}, config={"callbacks": [handler]})
    assert openai_server.request_count() == 1
    miss, hit = handler.ledger.rows()
    assert miss.cost_usd == Decimal("0.00012")  # 400 x 0.15 + 100 x 0.60
    assert (hit.cache_hit, hit.cost_usd) == (True, Decimal(0))
    assert miss.baseline_cost_usd == hit.baseline_cost_usd == Decimal("0.0015")  # on gpt-5


@pytest.mark.parametrize("ledger", [None, "memory://"])
def test_a_routed_answer_from_langchains_cache_is_a_free_cache_hit(
    openai_server: LocalOpenAIServer, ledger: str | None
) -> None:
    # The replayed answer carries the first call's record (and run id): counted as that
    # call again, the hit was merged into it and vanished from the handler's ledger.
    openai_server.script([Reply("Paris.", prompt_tokens=400, completion_tokens=100)])
    handler = CostCallbackHandler(InMemoryLedger(), reference_model="gpt-5")
    router = RoutedChatModel(
        routes={"qa": [openai_chat(openai_server, model="gpt-4o-mini")]}, ledger=ledger
    )
    set_llm_cache(CostRouterLLMCache.from_url("memory://"))  # no cache of its own: core's
    try:
        for _ in range(2):
            router.invoke("capital?", config={"callbacks": [handler]})
    finally:
        set_llm_cache(None)
    assert openai_server.request_count() == 1
    miss, hit = handler.ledger.rows()
    assert (miss.cache_hit, miss.cost_usd) == (False, Decimal("0.00012"))
    assert (hit.task, hit.model, hit.cache_hit, hit.cost_usd) == ("qa", "gpt-4o-mini", True, 0)
    assert hit.saved_cache_usd == hit.baseline_cost_usd == Decimal("0.0015")  # on gpt-5


def test_provider_error_is_a_row_without_cost(openai_server: LocalOpenAIServer) -> None:
    openai_server.script([Fault("500")])
    handler = CostCallbackHandler(InMemoryLedger())
    with pytest.raises(openai.InternalServerError) as raised:
        run_chain(openai_server, handler, "gpt-4o-mini")
    (row,) = handler.ledger.rows()
    # langchain-openai raises OpenAIAPIError (an InternalServerError and a ModelError)
    assert (row.error, row.cost_usd, row.task) == (type(raised.value).__name__, None, "qa")
    assert row.error == "OpenAIAPIError"


def test_model_nested_through_with_retry_is_counted_once(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.script([Fault("500"), Reply("Paris.", prompt_tokens=100, completion_tokens=10)])
    handler = CostCallbackHandler(InMemoryLedger())
    chat = openai_chat(openai_server, model="gpt-4o-mini")
    retrying = chat.with_retry(stop_after_attempt=2, wait_exponential_jitter=False)
    wrapper = WrapperChatModel(child=retrying)  # a chain run between the two model runs
    (PROMPT | wrapper).invoke({"question": "capital?"}, config={"callbacks": [handler]})
    assert openai_server.request_count() == 2
    (row,) = handler.ledger.rows()
    assert row.cost_usd == Decimal("0.000021")  # 100 x $0.15 + 10 x $0.60 per million


def test_report_over_a_sqlite_ledger_of_real_calls(
    openai_server: LocalOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    openai_server.script(
        [
            Reply("a", prompt_tokens=2000, completion_tokens=300, cached_tokens=1024),
            Reply("b", prompt_tokens=1000, completion_tokens=100),
        ]
    )
    with open_ledger(url) as ledger:
        handler = CostCallbackHandler(ledger, reference_model="gpt-5")
        run_chain(openai_server, handler, "gpt-4o-mini")
        run_chain(openai_server, handler, "gpt-4o-mini")
    assert main(["report", "--ledger", url, "--json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert totals["calls"] == 2
    assert totals["cost_usd"] == pytest.approx(0.0004032 + 0.00021)
    # gpt-5: (976 x 1.25 + 1024 x 0.125 + 300 x 10) + (1000 x 1.25 + 100 x 10) per million
    assert totals["baseline_cost_usd"] == pytest.approx(0.004348 + 0.00225)
