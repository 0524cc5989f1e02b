"""A prompt's images, audio and files are counted (budgets/media.py reads image headers,
decodes whole PDFs) only where a figure needs them: a budget's reservation, a rate
limit's tokens, a route's ``max_cost_usd``. A call with none of these pays nothing for
them, on the user's path or the shadow's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage

from langchain_costrouter import RateLimit, Route, RoutedChatModel, Tier
from langchain_costrouter.budgets import BudgetGate, WorstCase
from langchain_costrouter.budgets.media import MediaTokens, media_tokens
from langchain_costrouter.budgets.null_gate import NullBudgetGate
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.router import _budget, _cascade, _shadow_budget
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._shadow_budget import ShadowBudgets
from langchain_costrouter.testing.models import ScriptedChatModel

PRICES = PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)})
PICTURE = HumanMessage(
    content=[
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The models whose media each call counted, wherever the router counts them."""
    seen: list[str] = []

    def counting(messages: Sequence[BaseMessage], model: str, provider: str) -> MediaTokens:
        seen.append(model)
        return media_tokens(messages, model, provider)

    for module in (_budget, _cascade, _shadow_budget):
        monkeypatch.setattr(module, "media_tokens", counting)
    return seen


def _router(route: Any, **kwargs: Any) -> RoutedChatModel:
    return RoutedChatModel(routes={"vision": route}, prices=PRICES, **kwargs)


def test_a_call_without_budgets_or_a_cap_counts_no_media(counted: list[str]) -> None:
    model = ScriptedChatModel(model="m", answers=["a cat"])
    assert _router(model).invoke([PICTURE]).content == "a cat"
    assert counted == []


def test_a_capped_route_counts_its_tier_s_media(counted: list[str]) -> None:
    route = Route(tiers=(Tier.of(ScriptedChatModel(model="m", answers=["a cat"])),), max_cost_usd=1)
    assert _router(route).invoke([PICTURE], max_tokens=10).content == "a cat"
    assert counted == ["m"]


def test_a_shadow_call_without_budgets_or_its_rate_limit_counts_no_media(
    counted: list[str],
) -> None:
    model = ScriptedChatModel(model="m")
    deployment = Tier.of(model).primary
    other_limited = BudgetGate([], rate_limits={"scripted/other": RateLimit(rpm=1)})
    for gate in (NullBudgetGate(), other_limited):
        shadow = ShadowBudgets(Budgets(gate, WorstCase(PRICES), max_wait=1), [("m", deployment)])
        assert shadow.reserve("vision", deployment, [PICTURE], {}) is None
    assert counted == []
    limited = BudgetGate([], rate_limits={"scripted/m": RateLimit(rpm=1)})
    shadow = ShadowBudgets(Budgets(limited, WorstCase(PRICES), max_wait=1), [("m", deployment)])
    assert shadow.reserve("vision", deployment, [PICTURE], {}) is None  # a slot, no budget
    assert counted == ["m"]  # its tokens are the rate limit's
