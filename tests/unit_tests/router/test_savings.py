"""One baseline per call, and savings by lever that add up to it to the picodollar.

Every figure is checked against hand-computed prices: usage comes in whole tokens set by
the scripted answers, and the models have round per-million-token prices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain_core.exceptions import ModelAuthenticationError
from langchain_core.messages import AIMessage

from langchain_costrouter import (
    CircuitBreakers,
    ItemBatcher,
    ModelPrice,
    PriceTable,
    PromptCompressor,
    ProviderError,
    RetryPolicy,
    Route,
    RoutedChatModel,
    Tier,
)
from langchain_costrouter.checks import LabelSet
from langchain_costrouter.ledger import InMemoryLedger
from langchain_costrouter.metadata import CostRouterMetadata
from langchain_costrouter.router._savings import LEVERS
from langchain_costrouter.testing.models import ScriptedChatModel

PRICES = PriceTable(
    {
        "cheap": ModelPrice(input_per_mtok=1, output_per_mtok=2),
        "strong": ModelPrice(input_per_mtok=10, output_per_mtok=20),
        "premium": ModelPrice(input_per_mtok=100, output_per_mtok=200),
    }
)
NO_RETRY = RetryPolicy(max_retries=0, backoff_base=0.0, backoff_cap=0.0)


def _answer(text: str, input_tokens: int = 1000, output_tokens: int = 100) -> AIMessage:
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    return AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]


def _usd(input_tokens: int, output_tokens: int, per_in: int, per_out: int) -> Decimal:
    return (Decimal(input_tokens) * per_in + Decimal(output_tokens) * per_out) / 10**6


class RecordingLedger(InMemoryLedger):
    """An in-memory ledger that also keeps each call's record, as the router handed it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[CostRouterMetadata] = []

    def add_call(self, meta: CostRouterMetadata, **kwargs: Any) -> None:  # type: ignore[override]
        self.records.append(meta)
        super().add_call(meta, **kwargs)


def _router(
    cheap: list[Any], strong: list[Any], *, checked: bool = True, **kwargs: Any
) -> RoutedChatModel:
    cheap_tier = Tier.of(ScriptedChatModel(model="cheap", answers=cheap))
    if checked:
        cheap_tier = Tier(cheap_tier.deployments, LabelSet(["Yes", "No"]), 0.5)
    route = Route(tiers=(cheap_tier, Tier.of(ScriptedChatModel(model="strong", answers=strong))))
    return RoutedChatModel(
        routes={"chat": route},
        prices=PRICES,
        retry=NO_RETRY,
        breakers=CircuitBreakers(),
        **kwargs,
    )


def _reconciles(record: dict[str, Any]) -> None:
    levers = record["savings_usd"]
    assert set(levers) == set(LEVERS)
    total = sum(Decimal(repr(levers[lever])) for lever in LEVERS)
    assert total == Decimal(repr(record["baseline_cost_usd"])) - Decimal(repr(record["cost_usd"]))


def test_a_call_the_cheap_tier_answers_saves_by_cascade() -> None:
    record = _router([_answer("Yes")], ["unused"]).invoke("q").response_metadata["costrouter"]
    strong, cheap = _usd(1000, 100, 10, 20), _usd(1000, 100, 1, 2)
    assert record["record_version"] == 2 and record["status"] == "ok"
    assert Decimal(repr(record["baseline_cost_usd"])) == strong  # reference = strongest tier
    assert record["savings_usd"]["routing"] == 0.0
    assert Decimal(repr(record["savings_usd"]["cascade"])) == strong - cheap
    _reconciles(record)  # type: ignore[arg-type]


def test_an_escalated_call_costs_more_than_its_baseline_and_says_so() -> None:
    router = _router([_answer("Maybe")], [_answer("No")])
    record = router.invoke("q").response_metadata["costrouter"]
    strong, cheap = _usd(1000, 100, 10, 20), _usd(1000, 100, 1, 2)
    assert record["escalated"]
    assert Decimal(repr(record["baseline_cost_usd"])) == strong  # once, not per attempt
    assert Decimal(repr(record["cost_usd"])) == strong + cheap
    assert Decimal(repr(record["savings_usd"]["cascade"])) == -cheap  # escalation cost more
    _reconciles(record)  # type: ignore[arg-type]


def test_a_reference_model_above_the_route_shows_the_saving_of_routing() -> None:
    router = _router([_answer("Yes")], ["unused"], reference_model="premium")
    record = router.invoke("q").response_metadata["costrouter"]
    premium, strong = _usd(1000, 100, 100, 200), _usd(1000, 100, 10, 20)
    assert Decimal(repr(record["savings_usd"]["routing"])) == premium - strong
    _reconciles(record)  # type: ignore[arg-type]


def test_a_cache_hit_saves_the_original_cost_and_keeps_its_other_levers() -> None:
    router = _router([_answer("Yes")], ["unused"], cache="memory://")
    first = router.invoke("q").response_metadata["costrouter"]
    hit = router.invoke("q").response_metadata["costrouter"]
    assert hit["cache_hit"] and hit["cost_usd"] == 0.0
    assert hit["baseline_cost_usd"] == first["baseline_cost_usd"]
    assert hit["savings_usd"]["cache"] == first["cost_usd"]
    assert hit["savings_usd"]["cascade"] == first["savings_usd"]["cascade"]
    _reconciles(hit)


def test_compression_saves_the_prompt_tokens_it_removed_on_the_serving_model() -> None:
    prose = "Please note that " * 400 + "Is it spam? Answer Yes or No."
    compressor = PromptCompressor(strategies=("deterministic",), min_tokens=50)
    router = _router(["Yes"], ["unused"], compressors={"*": compressor})
    record = router.invoke(prose).response_metadata["costrouter"]
    saved = record["compression_tokens_saved"]
    (served,) = record["attempts"]
    sent = served["usage"]["input_tokens"]
    assert saved > 0
    assert Decimal(repr(record["savings_usd"]["compression"])) == _usd(saved, 0, 1, 2)
    assert Decimal(repr(record["baseline_cost_usd"])) == _usd(sent + saved, 1, 10, 20)
    _reconciles(record)  # type: ignore[arg-type]


def test_a_batch_is_compared_with_the_per_item_calls_it_replaced() -> None:
    ledger = RecordingLedger()
    answers = [_answer('{"i0": "Yes", "i1": "No", "i2": "Yes"}', 300, 20)]
    router = _router(answers, ["unused"], checked=False, ledger=ledger)
    results = ItemBatcher(router, "Is it spam?", ["Yes", "No"], task="chat").invoke(
        ["buy now", "hello mum", "free money"]
    )
    assert [r.value for r in results] == ["Yes", "No", "Yes"]
    (record,) = ledger.records
    assert record["batch_size"] == 3
    assert record["item_prompt_tokens"] > 300  # three prompts, each with the instruction
    per_item = _usd(record["item_prompt_tokens"], 20, 10, 20)
    assert Decimal(repr(record["baseline_cost_usd"])) == per_item
    assert Decimal(repr(record["savings_usd"]["batching"])) == per_item - _usd(300, 20, 10, 20)
    _reconciles(record)  # type: ignore[arg-type]


def test_items_sent_again_are_compared_with_their_per_item_calls_once() -> None:
    """A re-sent batch replaced no per-item call: those were counted when first sent, so
    its baseline is 0 and its cost is batching's loss; the run's baselines add up to one
    per-item call per item, not one for every time an item was sent."""
    ledger = RecordingLedger()
    answers = [
        _answer('{"i0": "Yes"}', 300, 20),  # i1 and i2 unanswered: both sent again, alone
        _answer('{"i1": "No"}', 100, 5),
        _answer('{"i2": "Yes"}', 100, 5),
    ]
    router = _router(answers, ["unused"], checked=False, ledger=ledger)
    results = ItemBatcher(router, "Is it spam?", ["Yes", "No"], task="chat").invoke(
        ["buy now", "hello mum", "free money"]
    )
    assert [r.value for r in results] == ["Yes", "No", "Yes"]
    first, *again = ledger.records
    assert [record["batch_size"] for record in ledger.records] == [3, 1, 1]
    assert Decimal(repr(first["baseline_cost_usd"])) == _usd(
        first["item_prompt_tokens"], 20, 10, 20
    )
    for record in again:
        assert record["item_prompt_tokens"] == 0
        assert record["baseline_cost_usd"] == 0.0
        assert Decimal(repr(record["savings_usd"]["batching"])) < 0
        _reconciles(record)  # type: ignore[arg-type]
    baselines = sum(Decimal(repr(record["baseline_cost_usd"])) for record in ledger.records)
    assert baselines == Decimal(repr(first["baseline_cost_usd"]))


def test_a_failed_call_has_no_baseline_and_its_spend_is_the_cascades_loss() -> None:
    ledger = RecordingLedger()
    rejected = ModelAuthenticationError("HTTP 401: invalid key")
    router = _router([_answer("Maybe")], [rejected], ledger=ledger)
    with pytest.raises(ProviderError, match="not retryable"):
        router.invoke("q")
    (record,) = ledger.records
    assert record["status"] == "failed" and record["baseline_cost_usd"] == 0.0
    assert Decimal(repr(record["savings_usd"]["cascade"])) == -_usd(1000, 100, 1, 2)
    _reconciles(record)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [None, 0.0, 1e-12, 6.6e-06, 0.1, 0.30000000000000004, 123.456789012345, 1e3, -2.5e-7, 7e-13, 3],
)
def test_a_recorded_lever_comes_back_as_the_picodollar_round_trip_gives_it(value: Any) -> None:
    from langchain_costrouter.router._savings import _as_recorded, _dollars, _pico_usd

    expected = _dollars(_pico_usd(value))
    assert _as_recorded(value) == expected
    assert type(_as_recorded(value)) is type(expected)


def test_a_batch_is_compared_with_one_request_fee_per_item_it_replaced() -> None:
    # perplexity sonar: $1 in, $1 out per million and $12 per thousand requests. Three
    # per-item calls would each have paid the request fee; the batch paid it once.
    from langchain_costrouter.routes import Deployment

    sonar = Deployment(
        model=ScriptedChatModel(
            model="sonar", answers=[_answer('{"i0": "Yes", "i1": "No", "i2": "Yes"}', 300, 20)]
        ),
        model_id="sonar",
        provider="perplexity",
    )
    ledger = RecordingLedger()
    router = RoutedChatModel(
        routes={"chat": Route(tiers=(Tier(deployments=(sonar,)),))},
        retry=NO_RETRY,
        breakers=CircuitBreakers(),
        ledger=ledger,
    )
    results = ItemBatcher(router, "Is it spam?", ["Yes", "No"], task="chat").invoke(
        ["buy now", "hello mum", "free money"]
    )
    assert [r.value for r in results] == ["Yes", "No", "Yes"]
    (record,) = ledger.records
    per_item = _usd(record["item_prompt_tokens"], 20, 1, 1) + 3 * Decimal("0.012")
    assert Decimal(repr(record["cost_usd"])) == _usd(300, 20, 1, 1) + Decimal("0.012")
    assert Decimal(repr(record["baseline_cost_usd"])) == per_item
    batching = per_item - Decimal(repr(record["cost_usd"]))
    assert Decimal(repr(record["savings_usd"]["batching"])) == batching
    _reconciles(record)  # type: ignore[arg-type]
