"""What a routed call leaves behind: failed calls reach the ledger, foreign hits are priced."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter import CircuitBreakers, RetryPolicy, RoutedChatModel
from langchain_costrouter.errors import AllTiersFailedError
from langchain_costrouter.router._request import begin
from langchain_costrouter.testing.models import ScriptedChatModel


def test_a_failed_call_still_writes_its_attempts_to_the_ledger() -> None:
    failing = ScriptedChatModel(model="gpt-4o-mini", answers=[ModelAPIError("HTTP 500")])
    router = RoutedChatModel(
        routes={"chat": [failing]},
        default_task="chat",
        ledger="memory://",
        retry=RetryPolicy(max_retries=1, backoff_base=0.001),
        breakers=CircuitBreakers(),
    )
    with pytest.raises(AllTiersFailedError):
        router.invoke("hello")
    rows = router.ledger_store.rows()
    assert [row.attempt for row in rows] == [0, 1]
    assert {row.model for row in rows} == {"gpt-4o-mini"}
    assert not any(row.accepted for row in rows)
    assert all(row.reason.startswith("error:") for row in rows)


def _serve_foreign_hit(router: RoutedChatModel) -> dict[str, Any]:
    """The record of a hit on an entry another tool wrote: an answer with usage, no record
    (gpt-4o-mini, 1000 tokens in and 1000 out)."""
    parts = router._current()
    request = begin(parts.table, [HumanMessage("What is 2 + 2?")], None, None, {})
    foreign = AIMessage(
        content="4",
        response_metadata={"model_name": "gpt-4o-mini"},
        usage_metadata={"input_tokens": 1000, "output_tokens": 1000, "total_tokens": 2000},
    )
    record: dict[str, Any] = parts.stages.recorder.serve_hit(request, foreign).response_metadata
    return record["costrouter"]  # type: ignore[no-any-return]


def test_a_hit_written_without_a_record_is_priced_as_avoided_now() -> None:
    child = ScriptedChatModel(model="gpt-4o-mini", answers=["unused"])
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat")
    record = _serve_foreign_hit(router)
    (attempt,) = record["attempts"]
    assert record["cache_hit"] and record["cost_usd"] == 0.0
    # gpt-4o-mini: $0.15 per million prompt tokens, $0.60 per million completion tokens
    assert attempt["avoided_cost_usd"] == pytest.approx(0.00075)
    assert attempt["provider"] == "cache"


def test_a_hit_written_without_a_record_counts_its_saving_in_the_ledger() -> None:
    # Priced anew when served, so its saving is known: the report must not leave it out.
    child = ScriptedChatModel(model="gpt-4o-mini", answers=["unused"])
    router = RoutedChatModel(
        routes={"chat": [child]}, default_task="chat", ledger="memory://", reference_model="gpt-4o"
    )
    record = _serve_foreign_hit(router)
    # gpt-4o: 1000 x $2.50 + 1000 x $10 per million; gpt-4o-mini: 1000 x $0.15 + 1000 x $0.60
    assert record["baseline_cost_usd"] == 0.0125
    assert record["savings_usd"] == {
        "routing": 0.01175,
        "cascade": 0.0,
        "cache": 0.00075,
        "compression": 0.0,
        "batching": 0.0,
    }
    (total,) = router.ledger_store.summary(by="all")
    assert total.unpriced_calls == 0
    assert (total.cost_usd, total.baseline_cost_usd, total.savings_usd) == (
        Decimal(0),
        Decimal("0.0125"),
        Decimal("0.0125"),
    )
