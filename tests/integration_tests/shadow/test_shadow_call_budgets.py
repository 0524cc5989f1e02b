"""Shadow evaluation's calls are held like a routed call's: their reservation counts the
prompt's images (budgets/media.py) and is kept (renewed) while the call runs, and each
takes its deployment's rate-limit slot after its reservation.

The real ``ChatOpenAI`` talks to the local server, which bills an image by OpenAI's tile
rule (1,445 tokens for a 2048 x 768 one) on top of the text it measures.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from langchain_costrouter import Budget, RateLimit, RoutedChatModel
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.testing import LocalOpenAIServer
from tests.integration_tests.budgets.conftest import any_store_url
from tests.integration_tests.budgets.test_request_media import QUESTION, billed
from tests.integration_tests.shadow.test_shadow_budgets import ask, ledger_total, standing
from tests.integration_tests.shadow.test_shadow_router import PRICES, world
from tests.server_fixtures import openai_chat

__all__ = ["any_store_url", "world"]  # fixtures

pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_costrouter.errors.BudgetSoftLimitWarning"
)

VISION_PRICES = PriceTable(
    {
        "weak": ModelPrice(input_per_mtok=0.1, output_per_mtok=0.1),
        "strong": ModelPrice(input_per_mtok=10, output_per_mtok=10),
    }
)


def _vision_router(server: LocalOpenAIServer, **budgets: Any) -> RoutedChatModel:
    """vision: weak serves, strong is the reference; every answer shadowed (exact match)."""
    server.set_responder(billed)
    return RoutedChatModel(
        routes={"vision": [openai_chat(server, "weak"), openai_chat(server, "strong")]},
        default_task="vision",
        prices=VISION_PRICES,
        ledger="memory://",
        shadow=ShadowConfig(tasks={"vision": 1.0}, score="exact", seed=0),
        **budgets,
    )


def test_a_reference_call_reserves_the_image_it_sends(openai_server: LocalOpenAIServer) -> None:
    # The reference's reservation counted the prompt's words alone (~$0.0004 at $10/M),
    # while strong bills the image's 1,445 tokens too (~$0.015): one sample spent three
    # times a $0.005 limit the user's own call kept to.
    limit = Decimal("0.005")
    global_budget = Budget(name="global", limit_usd=limit, per=None, soft_threshold=None)
    routed = _vision_router(openai_server, budgets=[global_budget])
    answer = routed.invoke([QUESTION], max_tokens=10)
    assert answer.response_metadata["model_name"] == "weak"
    assert routed.shadow_evaluator.drain(30)
    assert ledger_total(routed) <= limit
    assert openai_server.request_count("strong") == 0  # never asked: it did not fit
    stats = routed.shadow_evaluator.stats()
    assert (stats.sampled, stats.over_budget, stats.evaluated) == (1, 1, 0)


@pytest.mark.services
def test_a_reference_call_longer_than_its_lease_keeps_its_reservation(
    openai_server: LocalOpenAIServer, any_store_url: str
) -> None:
    # The reference call's lease was not renewed: 0.6 s into a 2-second call its worst
    # case was no longer held, and other machines could spend it.
    openai_server.set_latency(2.0, model="strong")
    everyone = Budget(name="global", limit_usd=1, per=None, soft_threshold=None)
    routed = _vision_router(
        openai_server,
        budgets=[everyone],
        budget_store=any_store_url,
        budget_lease_seconds=0.6,
    )
    gate = routed._current().stages.cascade.budgets.gate
    routed.invoke("What is in this picture?", max_tokens=10)
    time.sleep(0.3)  # the sample is taken and its reference call under way
    held = []
    for _ in range(14):
        held.append(gate.status(CallContext("vision"))[0].reserved_usd)
        time.sleep(0.1)
    assert routed.shadow_evaluator.drain(30)
    assert openai_server.request_count("strong") == 1
    assert min(held) > 0, held  # held from its reservation to its settlement
    (status,) = gate.status(CallContext("vision"))
    assert (status.spent_usd, status.reserved_usd) == (ledger_total(routed), Decimal(0))


@pytest.mark.services
@pytest.mark.parametrize(
    "budgets",
    [[], [Budget(name="global", limit_usd=10, per=None, soft_threshold=None)]],
    ids=["rate-limit-only", "with-a-budget"],
)
def test_shadow_calls_take_the_reference_model_s_rate_slot(
    openai_server: LocalOpenAIServer,
    world: Any,
    any_store_url: str,
    budgets: list[Budget],
) -> None:
    # The shadow's reference calls took no slot: with strong limited to 2 requests a
    # minute, four samples sent it four requests, past the limit its provider enforces
    # with a 429 (and the user's own calls to it fail over for that).
    routed = RoutedChatModel(
        routes={
            "math": [openai_chat(openai_server, "weak"), openai_chat(openai_server, "strong")],
            "grading": [openai_chat(openai_server, "judge")],
        },
        default_task="math",
        prices=PRICES,
        ledger="memory://",
        shadow=ShadowConfig(tasks={"math": 1.0}, score="judge:judge", seed=0),
        budgets=budgets,
        budget_store=any_store_url,
        rate_limits={"openai/strong": RateLimit(rpm=2)},
    )
    ask(routed, 4)
    assert openai_server.request_count("strong") == 2  # the minute's two requests
    stats = routed.shadow_evaluator.stats()
    assert (stats.sampled, stats.evaluated, stats.failed, stats.rate_limited) == (4, 2, 0, 2)
    assert stats.over_budget == 0
    assert len(routed.shadow_evaluator.store.read_samples()) == 2  # the dropped ones: none
    gate = routed._current().stages.cascade.budgets.gate
    assert not gate.acquire_rate("openai/strong", 1, max_wait=0).granted  # both taken
    if budgets:  # a sample not granted its slot gave its reservation back
        assert standing(routed)["global"] == (ledger_total(routed), Decimal(0))
