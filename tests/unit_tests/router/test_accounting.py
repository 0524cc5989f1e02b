"""The accountant prices each token count on the reference model once, and exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from langchain_costrouter import ModelPrice, PriceTable
from langchain_costrouter.budgets.media import MediaTokens
from langchain_costrouter.pricing import TokenCounts
from langchain_costrouter.router import _accounting
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.routes import Deployment


class CountingPrices(PriceTable):
    def __init__(self) -> None:
        super().__init__({"premium": ModelPrice(input_per_mtok=3, output_per_mtok=15)})
        self.priced = 0

    def price(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.priced += 1
        return super().price(*args, **kwargs)


def test_the_reference_cost_of_the_same_counts_is_priced_once() -> None:
    prices = CountingPrices()
    accountant = Accountant(prices=prices, reference_model="premium")
    counts = TokenCounts(input=1000, output=100)
    first = accountant.baseline(counts)
    again = accountant.model_cost("premium", TokenCounts(input=1000, output=100))
    assert first == again == Decimal("0.0045")  # 1000 x $3/M + 100 x $15/M
    assert prices.priced == 1
    assert accountant.baseline(TokenCounts(input=1, output=1)) == Decimal("0.000018")
    assert prices.priced == 2


def test_no_reference_model_means_no_baseline() -> None:
    accountant = Accountant(prices=CountingPrices(), reference_model=None)
    assert accountant.baseline(TokenCounts(input=5)) is None


def test_the_remembered_costs_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_accounting, "_BASELINES_KEPT", 3)
    prices = CountingPrices()
    accountant = Accountant(prices=prices, reference_model="premium")
    for tokens in range(10):
        accountant.baseline(TokenCounts(input=tokens))
    assert len(accountant._baselines) <= 3
    assert accountant.baseline(TokenCounts(input=9)) == Decimal("0.000027")
    assert prices.priced == 10  # the last one was still remembered


def test_tokens_not_sent_are_worth_their_tokens_without_the_request_fee() -> None:
    # perplexity sonar: $1 per million input tokens and $12 per thousand requests; the
    # call was made anyway, so compression saved the tokens' price, not a request's fee.
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from langchain_costrouter.routes import Deployment

    sonar = Deployment(
        model=FakeListChatModel(responses=["x"]), model_id="sonar", provider="perplexity"
    )
    accountant = Accountant(prices=PriceTable(), reference_model=None)
    assert accountant.input_cost(sonar, 1000) == 0.001


def test_a_call_costs_the_exact_sum_of_its_attempts() -> None:
    # $0.10 and $0.20 attempts: float addition makes 0.30000000000000004, a figure the
    # ledger (which adds exact picodollars) never shows.
    from langchain_core.messages import AIMessage

    from langchain_costrouter import RoutedChatModel
    from langchain_costrouter.checks.function import FunctionCheck
    from langchain_costrouter.routes import Tier
    from langchain_costrouter.testing.models import ScriptedChatModel

    usage = {"input_tokens": 100_000, "output_tokens": 0, "total_tokens": 100_000}
    weak = ScriptedChatModel(model="weak", answers=[AIMessage("no", usage_metadata=usage)])
    strong = ScriptedChatModel(model="strong", answers=[AIMessage("yes", usage_metadata=usage)])
    check = FunctionCheck(lambda messages, answer, previous: float(answer.text == "yes"))
    router = RoutedChatModel(
        routes={"chat": [Tier.of(weak, check=check), strong]},
        default_task="chat",
        prices=PriceTable(
            {
                "weak": ModelPrice(input_per_mtok=1, output_per_mtok=1),
                "strong": ModelPrice(input_per_mtok=2, output_per_mtok=2),
            }
        ),
    )
    record = router.invoke("question").response_metadata["costrouter"]
    assert [attempt["cost_usd"] for attempt in record["attempts"]] == [0.1, 0.2]
    assert record["cost_usd"] == 0.3


def test_the_estimate_prices_media_and_audio_at_the_audio_rate() -> None:
    # What a route's max_cost_usd is held to: an image's tokens at the input price, a
    # clip's at the audio price ($0.30 and $1 per million on gemini-2.5-flash).
    accountant = Accountant(PriceTable(), reference_model=None)
    model = Deployment(model=None, model_id="gemini-2.5-flash", provider="google")  # type: ignore[arg-type]
    words = accountant.estimate(model, 0, 1)
    assert words is not None
    image = accountant.estimate(model, 0, 1, MediaTokens(1000, 0))
    clip = accountant.estimate(model, 0, 1, MediaTokens(0, 1000))
    assert image is not None and clip is not None
    assert image - words == pytest.approx(0.0003) and clip - words == pytest.approx(0.001)
