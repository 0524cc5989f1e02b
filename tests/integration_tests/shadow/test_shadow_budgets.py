"""Shadow evaluation's own calls (the reference model's, the judge's) under the router's
budgets: reserved on the global and per-task budgets before they are made, settled to
their cost, and a sample a budget refuses is dropped and counted, never the user's call.

Prices of the sums world: every answer reports 40 input and 8 output tokens, so a
reference (strong) answer costs $0.00018, a judge's or a weak answer $0.0000108. With
``max_tokens=100`` the reference's worst case is about $0.00104; the judge, uncapped,
reserves about $0.0025 (4,096 output tokens before it has been seen answering).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter import Budget, RoutedChatModel
from langchain_costrouter.budgets import BudgetGate, CallContext
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.integration_tests.ledger.tcp_proxy import TcpProxy
from tests.integration_tests.shadow.test_shadow_router import PRICES, questions, world
from tests.server_fixtures import openai_chat
from tests.services import delete_redis_prefix

__all__ = ["world"]  # the sums world's fixture

pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_costrouter.errors.BudgetSoftLimitWarning"
)


def budgeted(server: LocalOpenAIServer, *budgets: Budget) -> RoutedChatModel:
    """The shadow tests' router (math: weak serves, strong is the reference, judged by
    ``judge``), with ``budgets`` on an in-process store."""
    return RoutedChatModel(
        routes={
            "math": [openai_chat(server, "weak"), openai_chat(server, "strong")],
            "grading": [openai_chat(server, "judge")],
        },
        default_task="math",
        prices=PRICES,
        ledger="memory://",
        shadow=ShadowConfig(tasks={"math": 1.0}, score="judge:judge", seed=0),
        budgets=list(budgets),
    )


def ledger_total(routed: RoutedChatModel) -> Decimal:
    ledger = routed.ledger_store
    ledger.flush()
    return sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))


def standing(routed: RoutedChatModel, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    gate = routed._current().stages.cascade.budgets.gate
    context = CallContext("math", metadata or {})
    return {s.budget: (s.spent_usd, s.reserved_usd) for s in gate.status(context)}


def ask(routed: RoutedChatModel, count: int, **config: Any) -> None:
    for text, _, _ in questions(count):
        answer = routed.invoke(text, max_tokens=100, **config)
        assert answer.response_metadata["model_name"] == "weak"  # the user is answered
    assert routed.shadow_evaluator.drain(30)


def test_a_reference_call_the_global_budget_cannot_hold_is_dropped_and_counted(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    # The shadow's reference and judge calls reserved nothing: ten samples spent $0.002
    # on a global limit of $0.0005 the user's own calls (about $0.0001) kept to.
    limit = Decimal("0.0005")
    routed = budgeted(openai_server, Budget(name="global", limit_usd=limit, per=None))
    ask(routed, 10)
    assert ledger_total(routed) <= limit
    assert openai_server.request_count("strong") == 0  # never asked: it did not fit
    assert openai_server.request_count("judge") == 0
    stats = routed.shadow_evaluator.stats()
    assert (stats.sampled, stats.over_budget, stats.evaluated, stats.failed) == (10, 10, 0, 0)
    assert routed.shadow_evaluator.store.read_samples() == []  # dropped, not stored
    assert standing(routed)["global"] == (ledger_total(routed), Decimal(0))


def test_a_judge_call_the_budget_cannot_hold_drops_the_sample_after_its_reference(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    limit = Decimal("0.002")  # holds a reference's worst case, never the judge's
    routed = budgeted(openai_server, Budget(name="global", limit_usd=limit, per=None))
    ask(routed, 3)
    assert openai_server.request_count("strong") == 3
    assert openai_server.request_count("judge") == 0
    stats = routed.shadow_evaluator.stats()
    assert (stats.over_budget, stats.evaluated, stats.failed) == (3, 0, 0)
    spent = ledger_total(routed)
    assert spent == 3 * (Decimal("0.00018") + Decimal("0.0000108"))  # references and users
    assert standing(routed)["global"] == (spent, Decimal(0))  # settled, nothing left held


def test_shadow_spend_counts_on_global_and_task_budgets_never_on_a_tenants(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    routed = budgeted(
        openai_server,
        Budget(name="global", limit_usd=10, per=None),
        Budget(name="per-task", limit_usd=10, per="task"),
        Budget(name="tenant", limit_usd=10, per="tenant"),
    )
    ask(routed, 4, config={"metadata": {"tenant": "acme"}})
    assert routed.shadow_evaluator.stats().evaluated == 4
    assert openai_server.request_count("judge") == 8
    users = 4 * Decimal("0.0000108")
    everything = ledger_total(routed)
    assert everything == users + 4 * Decimal("0.00018") + 8 * Decimal("0.0000108")
    assert standing(routed, {"tenant": "acme"}) == {
        "global": (everything, Decimal(0)),
        "per-task": (everything, Decimal(0)),
        "tenant": (users, Decimal(0)),  # the tenant never asked for the evaluation
    }


def test_under_a_budget_an_unpriced_judge_is_refused_when_the_router_is_built(
    openai_server: LocalOpenAIServer,
) -> None:
    unpriced = PriceTable({name: PRICES.overrides[name] for name in ("weak", "strong")})
    with pytest.raises(ConfigError) as refused:
        RoutedChatModel(
            routes={
                "math": [openai_chat(openai_server, "weak"), openai_chat(openai_server, "strong")],
                "grading": [openai_chat(openai_server, "judge")],
            },
            prices=unpriced,
            ledger="memory://",
            shadow=ShadowConfig(tasks={"math": 1.0}, score="judge:judge"),
            budgets=[Budget(name="global", limit_usd=1, per=None)],
        )
    assert refused.value.key == "shadow.score"
    assert "'judge' has no price" in str(refused.value)


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[TcpProxy]:
    """Redis behind a proxy the test cuts: a budget store that goes down on demand."""
    parsed = urlsplit(redis_url)
    with TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 6379) as running:
        yield running


@pytest.mark.services
@pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.BackendUnavailableWarning")
@pytest.mark.parametrize("cut_by", ["weak", "strong"], ids=["reference", "judge"])
def test_a_shadow_call_the_budget_store_cannot_reserve_drops_the_sample(
    redis_url: str, redis_proxy: TcpProxy, cut_by: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: the store's BudgetStoreError was taken for a provider fault: a row with no
    # score and error "BudgetStoreError: ..." was stored and counted in `failed`, as if
    # the reference or the judge had failed. The store goes down while a model answers:
    # the user's call was reserved before and is answered (its settlement warns); the
    # next shadow reservation, the reference's or the judge's, finds the store down.
    def answer_and_cut(model: str) -> Any:
        def respond(messages: list[BaseMessage]) -> AIMessage:
            if model == cut_by:
                redis_proxy.cut()
            return AIMessage("4")

        return respond

    models = {
        name: ScriptedChatModel(model=name, responder=answer_and_cut(name))
        for name in PRICES.overrides
    }
    prefix = f"shadow-down-{uuid.uuid4().hex[:8]}:"
    port = redis_proxy.port
    try:
        routed = RoutedChatModel(
            routes={"math": [models["weak"], models["strong"]], "grading": [models["judge"]]},
            default_task="math",
            prices=PRICES,
            ledger="memory://",
            shadow=ShadowConfig(tasks={"math": 1.0}, score="judge:judge", seed=0),
            budgets=[Budget(name="global", limit_usd=10, per=None)],
            budget_store=f"redis://127.0.0.1:{port}/0?prefix={prefix}",
            on_budget_store_error="refuse",
        )
        assert routed.invoke("What is 2 + 2?", max_tokens=100).content == "4"
        assert routed.shadow_evaluator.drain(30)
        assert routed.shadow_evaluator.store.read_samples() == []  # never evaluated
        stats = routed.shadow_evaluator.stats()
        assert (stats.sampled, stats.budget_store_down) == (1, 1)
        assert (stats.evaluated, stats.failed, stats.over_budget) == (0, 0, 0)
        assert models["judge"].calls == 0
        assert models["strong"].calls == (cut_by == "strong")  # made, so recorded
        purposes = [row.purpose for row in routed.ledger_store.rows()]
        assert purposes.count("shadow") == (cut_by == "strong")
        # The call the store was cut under (the user's, or the reference's) could not be
        # settled. Closing the router reports it lost now, the store still down; before,
        # the router was never closed and its settlement was retried until the test
        # process exited, then reported lost in .ci/run's last lines.
        gate = routed._current().stages.cascade.budgets.gate
        assert isinstance(gate, BudgetGate)
        with caplog.at_level(logging.WARNING, logger="langchain_costrouter.budgets"):
            routed.close()
        lost = [r.getMessage() for r in caplog.records if "never settled" in r.getMessage()]
        assert len(lost) == 1
        assert f"scripted/{cut_by} was never settled" in lost[0]
        assert "until its budget gate was closed" in lost[0]
        stats = gate.settlement_stats()
        assert (stats.lost, stats.pending) == (1, 0)
    finally:
        delete_redis_prefix(redis_url, prefix)
