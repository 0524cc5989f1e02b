"""The ledger's savings equal the answers' own records, to the picodollar, lever by lever.

Calls over real HTTP (the real ChatOpenAI against the local OpenAI-compatible server):
an escalated call (the cheap tier's label fails its check), a cache hit of it, a
streamed call, a failed call (HTTP 400), a compressed call and an item batch. One
baseline per call: an escalated call is compared with its reference once, not once per
attempt.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import LLMResult
from langchain_openai import ChatOpenAI

from langchain_costrouter import ItemBatcher, PromptCompressor, RoutedChatModel, Tier
from langchain_costrouter.checks import LabelSet
from langchain_costrouter.errors import AllTiersFailedError, ProviderError
from langchain_costrouter.ledger import Ledger, open_ledger
from langchain_costrouter.metadata import LEVERS
from langchain_costrouter.testing import CONTEXT_LENGTH_EXCEEDED, Fault, LocalOpenAIServer, Reply
from tests.services import drop_tables


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "postgres":
        url, prefix = str(request.getfixturevalue("postgres_url")), f"s{uuid.uuid4().hex[:12]}_"
        with open_ledger(url, table_prefix=prefix) as opened:
            yield opened
        drop_tables(url, prefix)
        return
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}" if request.param == "sqlite" else "memory://"
    with open_ledger(url) as opened:
        yield opened


def _child(server: LocalOpenAIServer, model: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=model, base_url=server.base_url, api_key="test", max_retries=0, stream_usage=True
    )  # type: ignore[call-arg]


def _router(server: LocalOpenAIServer, ledger: Ledger) -> RoutedChatModel:
    cheap = Tier.of(_child(server, "gpt-4o-mini"), check=LabelSet(["spam", "ham"]))
    return RoutedChatModel(
        routes={"label": [cheap, _child(server, "gpt-4o")], "solo": [_child(server, "gpt-4o")]},
        default_task="label",
        ledger=ledger,
        cache="memory://",
        reference_model="gpt-4",
    )


def _record(message: Any) -> dict[str, Any]:
    return dict(message.response_metadata["costrouter"])


def _d(value: float | None) -> Decimal:
    return Decimal(repr(value)) if value is not None else Decimal(0)


def test_report_equals_the_records_lever_by_lever(
    openai_server: LocalOpenAIServer, ledger: Ledger
) -> None:
    router = _router(openai_server, ledger)
    reply = {"prompt_tokens": 300, "completion_tokens": 20}
    openai_server.script([Reply("maybe", **reply)], model="gpt-4o-mini")
    openai_server.script(
        [Reply("spam", **reply), Reply("a streamed answer", **reply)], model="gpt-4o"
    )
    escalated = router.invoke("Free money!!! spam or ham?")
    hit = router.invoke("Free money!!! spam or ham?")
    streamed: AIMessage | None = None
    for chunk in router.stream("Tell me something", task="solo"):
        streamed = chunk if streamed is None else streamed + chunk  # type: ignore[assignment]
    # An overflow escalates, and the one-tier route has nowhere to go: every tier failed.
    openai_server.script([Fault("400", code=CONTEXT_LENGTH_EXCEEDED)], model="gpt-4o")
    with pytest.raises(AllTiersFailedError):
        router.invoke("Broken", task="solo")

    records = [_record(escalated), _record(hit), _record(streamed)]
    assert records[0]["escalated"] and records[1]["cache_hit"]
    assert not records[1]["escalated"]  # the hit replays tier 1's answer; it escalates nothing
    (total,) = ledger.summary(by="all")
    assert total.escalation_rate == 1 / 4  # of the four calls only the first escalated
    baseline = sum(_d(r["baseline_cost_usd"]) for r in records)
    cost = sum(_d(r["cost_usd"]) for r in records)
    assert total.baseline_cost_usd == baseline  # once per call, never per attempt
    assert total.savings_usd == baseline - cost
    for lever in LEVERS:
        expected = sum(_d(r["savings_usd"][lever]) for r in records)
        assert getattr(total, f"saved_{lever}_usd") == expected, lever
    assert total.saved_cascade_usd is not None and total.saved_cascade_usd < 0  # escalation
    assert total.saved_cache_usd == _d(records[0]["cost_usd"])  # what the hit did not pay
    assert total.calls == 4 and total.errors == 1
    hit_usage = hit.usage_metadata or {}
    assert hit_usage["input_tokens"] == 300  # a hit keeps the answer's usage, billed by no one
    replayed = (total.replayed_input_tokens, total.replayed_output_tokens)
    assert replayed == (hit_usage["input_tokens"], hit_usage["output_tokens"])
    billed = sum(r["usage"]["input_tokens"] for rec in records[::2] for r in rec["attempts"])
    assert total.input_tokens - total.replayed_input_tokens == billed  # what providers billed
    failed = [row for row in ledger.rows() if row.error is not None]
    assert [(row.status_code, row.model) for row in failed] == [(400, "gpt-4o")]
    assert failed[0].error and "key" not in failed[0].error.lower()


class _Records(BaseCallbackHandler):
    """Every answer's costrouter record, as a callback sees it (batches included)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                if message is not None and "costrouter" in message.response_metadata:
                    self.records.append(_record(message))


def test_compressed_and_batched_calls_reconcile_too(
    openai_server: LocalOpenAIServer, ledger: Ledger
) -> None:
    compressor = PromptCompressor(strategies=("deterministic",), min_tokens=50)
    router = RoutedChatModel(
        routes={
            "chat": [_child(openai_server, "gpt-4o-mini")],
            "compressed": [_child(openai_server, "gpt-4o-mini")],
        },
        default_task="chat",
        ledger=ledger,
        reference_model="gpt-4o",
        compressors={"compressed": compressor},
    )
    seen = _Records()
    openai_server.script([Reply("Yes"), Reply('{"i0": "Yes", "i1": "No", "i2": "Yes"}')])
    prose = "Please note that " * 300 + "Is it spam? Answer Yes or No."
    router.invoke(prose, {"callbacks": [seen]}, task="compressed")
    batcher = ItemBatcher(router, "Is it spam?", ["Yes", "No"], task="chat")
    results = batcher.invoke(["buy now", "hello mum", "free money"], {"callbacks": [seen]})
    assert [r.value for r in results] == ["Yes", "No", "Yes"]

    records = seen.records
    assert len(records) == 2
    assert records[0]["compression_tokens_saved"] > 0 and records[1]["batch_size"] == 3
    (total,) = ledger.summary(by="all")
    baseline = sum(_d(r["baseline_cost_usd"]) for r in records)
    assert total.baseline_cost_usd == baseline
    assert total.savings_usd == baseline - sum(_d(r["cost_usd"]) for r in records)
    for lever in LEVERS:
        expected = sum(_d(r["savings_usd"][lever]) for r in records)
        assert getattr(total, f"saved_{lever}_usd") == expected, lever
    assert total.saved_compression_usd is not None and total.saved_compression_usd > 0
    assert total.saved_batching_usd is not None and total.saved_batching_usd > 0


async def test_a_cut_stream_and_a_cancelled_call_keep_their_rows(
    openai_server: LocalOpenAIServer, ledger: Ledger
) -> None:
    router = RoutedChatModel(
        routes={"chat": [_child(openai_server, "gpt-4o-mini")]}, default_task="chat", ledger=ledger
    )
    openai_server.script([Fault("drop", after_chunks=3)], model="gpt-4o-mini")
    delivered: list[object] = []

    async def read_stream() -> None:
        async for chunk in router.astream("Tell me a long story"):
            delivered.append(chunk.content)

    with pytest.raises(ProviderError):
        await read_stream()
    assert "".join(str(part) for part in delivered)  # tokens reached the caller before the cut
    openai_server.script([Fault("timeout", seconds=30)], model="gpt-4o-mini")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(router.ainvoke("Slow question"), 0.5)

    rows = {row.error: row for row in ledger.rows()}
    cut, cancelled = rows["OpenAIConnectionError"], rows["CancelledError"]
    assert cut.reason == "error: stream cut" and cut.output_tokens > 0 and cut.usage_estimated
    assert cancelled.reason and "cancelled" in cancelled.reason and cancelled.usage_estimated
    assert all(row.cost_usd is not None and row.cost_usd > 0 for row in (cut, cancelled))
    (total,) = ledger.summary(by="all")
    assert total.calls == 2 and total.errors == 2
    # No answer, so no baseline: what was paid is a loss, and the levers say so exactly.
    assert total.cost_usd is not None and total.baseline_cost_usd == 0
    assert total.savings_usd == -total.cost_usd


def test_calls_of_unknown_price_are_left_out_not_counted_as_zero(
    openai_server: LocalOpenAIServer, ledger: Ledger
) -> None:
    local = Tier.of(_child(openai_server, "my-local-llm"), check=LabelSet(["a"]))  # no price
    router = RoutedChatModel(
        routes={"t": [local, _child(openai_server, "gpt-4o")]}, default_task="t", ledger=ledger
    )
    openai_server.script([Reply("a"), Reply("b")], model="my-local-llm")
    served = _record(router.invoke("q1"))  # served by the unpriced tier
    escalated = _record(router.invoke("q2"))  # rejected there, answered by gpt-4o
    priced = _record(router.invoke("q3", model="gpt-4o"))
    assert served["cost_usd"] is None and served["baseline_cost_usd"] is not None
    assert escalated["cost_usd"] is None and escalated["escalated"]

    (total,) = ledger.summary(by="all")
    assert total.cost_usd == _d(priced["cost_usd"])
    assert total.baseline_cost_usd == _d(priced["baseline_cost_usd"])  # not the others'
    assert total.savings_usd == total.baseline_cost_usd - total.cost_usd
    assert (total.unpriced_calls, total.unpriced) == (2, 2)
    answered = escalated["attempts"][-1]
    assert total.unpriced_calls_known_cost_usd == _d(answered["cost_usd"])
