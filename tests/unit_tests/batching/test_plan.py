"""The batching state machine without a model: halving, errors, costs, order."""

from __future__ import annotations

import json

import pytest
from langchain_core.exceptions import ContextOverflowError, ModelRateLimitError
from langchain_core.messages import AIMessage

from langchain_costrouter.batching.items import to_batch_items
from langchain_costrouter.batching.plan import Batch, BatchPlan
from langchain_costrouter.batching.results import CallOutcome
from langchain_costrouter.batching.schema import LabelSchema
from langchain_costrouter.tokens import count_text
from tests.fresh_python import fresh_python

SCHEMA = LabelSchema(["spam", "ham"])


def _plan(n: int, max_items: int = 8) -> tuple[BatchPlan, list[Batch]]:
    inputs = [f"mail {i}" for i in range(n)]
    plan = BatchPlan(inputs, SCHEMA, max_tokens=10_000, max_items=max_items)
    return plan, plan.start(to_batch_items(inputs, count_text))


def _answer(answers: dict[str, str], cost: float | None = 0.08) -> CallOutcome:
    return CallOutcome(
        AIMessage(json.dumps(answers), response_metadata={"costrouter": {"cost_usd": cost}})
    )


def test_failures_are_resent_in_halves_then_end_as_errors() -> None:
    plan, (batch,) = _plan(8)
    follow = plan.settle(batch, _answer({"i0": "spam"}))
    assert [len(b.items) for b in follow] == [4, 3]
    assert [item.id for item in follow[0].items] == ["i1", "i2", "i3", "i4"]
    follow = plan.settle(follow[0], _answer({}))
    assert [len(b.items) for b in follow] == [2, 2]
    follow = plan.settle(follow[0], _answer({"i1": "eggs", "i2": "ham"}))
    assert [item.id for b in follow for item in b.items] == ["i1"]
    assert plan.settle(follow[0], _answer({"i1": "eggs"})) == []
    results = {r.id: r for r in plan._results.values()}
    assert results["i1"].ok is False
    assert "failed even when sent alone" in (results["i1"].error or "")
    assert "not one of the labels" in (results["i1"].error or "")
    assert results["i1"].calls == 4
    assert results["i2"].value == "ham"
    assert results["i2"].batch_size == 2


def test_cost_is_split_over_the_items_of_each_call() -> None:
    plan, (batch,) = _plan(4)
    (retry,) = plan.settle(batch, _answer({"i0": "ham", "i1": "ham"}, cost=0.08))
    plan.settle(retry, _answer({"i2": "spam", "i3": "ham"}, cost=0.04))
    results = plan.results()
    assert [r.cost_usd for r in results] == [0.02, 0.02, 0.04, 0.04]
    assert sum(r.cost_usd or 0 for r in results) == 0.12


def test_an_unknown_price_makes_the_item_cost_unknown_not_zero() -> None:
    plan, (batch,) = _plan(2)
    plan.settle(batch, _answer({"i0": "ham", "i1": "ham"}, cost=None))
    assert [r.cost_usd for r in plan.results()] == [None, None]


def test_rate_limit_ends_the_batch_without_halving() -> None:
    plan, (batch,) = _plan(4)
    assert plan.settle(batch, CallOutcome(error=ModelRateLimitError("slow down"))) == []
    results = plan.results()
    assert all(not r.ok and "ModelRateLimitError" in (r.error or "") for r in results)
    assert [r.batch_size for r in results] == [4, 4, 4, 4]


def test_context_overflow_is_cured_by_halving() -> None:
    plan, (batch,) = _plan(4)
    follow = plan.settle(batch, CallOutcome(error=ContextOverflowError("too long")))
    assert [len(b.items) for b in follow] == [2, 2]


def test_results_refuse_to_drop_unsettled_items() -> None:
    plan, _ = _plan(3)
    with pytest.raises(RuntimeError, match="never settled"):
        plan.results()


def test_provider_failures_are_told_without_importing_openai() -> None:
    code = (
        "import sys\n"
        "from langchain_costrouter.batching.plan import provider_failed\n"
        "before = [provider_failed(TimeoutError()), provider_failed(ValueError('bug'))]\n"
        "loaded = 'openai' in sys.modules\n"
        "import httpx, openai\n"
        "request = httpx.Request('POST', 'http://127.0.0.1/v1/chat/completions')\n"
        "error = openai.APIError('Provider returned error', request, body={'code': 502})\n"
        "after = [provider_failed(error), provider_failed(ValueError('bug'))]\n"
        "import json; print(json.dumps([before, loaded, after]))"
    )
    before, loaded, after = fresh_python(code)
    assert before == [True, False] and loaded is False
    assert after == [True, False]


def test_an_answer_the_client_refused_without_a_price_costs_an_unknown_amount() -> None:
    """It was billed (its completion carries the usage): unknown without a price, not $0."""
    openai = pytest.importorskip("openai")
    completion = openai.types.chat.ChatCompletion.model_validate(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [],
            "usage": {"prompt_tokens": 30, "completion_tokens": 25, "total_tokens": 55},
        }
    )
    plan, (batch,) = _plan(2)
    error = openai.LengthFinishReasonError(completion=completion)
    first, second = plan.settle(batch, CallOutcome(error=error))
    plan.settle(first, _answer({"i0": "ham"}))
    plan.settle(second, _answer({"i1": "spam"}))
    assert [(r.value, r.calls, r.cost_usd) for r in plan.results()] == [
        ("ham", 2, None),
        ("spam", 2, None),
    ]
