"""A call cancelled while a `Weighted` check's judges run, one of which had failed at its
provider (real ``ChatOpenAI`` judges on the local server, the ledger and budget read back).

Weighted runs its judges at once. Cancelled, its cancellation carried the replies of
the judges that answered and named those it cut off; a judge whose provider had failed
meanwhile left nothing: its failed call was neither an attempt of the record nor a row
of the ledger, unlike a judge failing when no cancellation comes (a failed attempt
naming its status, `router._verdicts.judge_failed`).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from langchain_costrouter import Budget
from langchain_costrouter.budgets import BudgetGate
from langchain_costrouter.checks import AllOf, JudgeCheck, QualityCheck, Weighted
from langchain_costrouter.ledger.memory import InMemoryLedger
from langchain_costrouter.testing import Fault, LocalOpenAIServer
from tests.integration_tests.router.test_judge_failures import CHAT, _router
from tests.server_fixtures import openai_chat


class _Failing(JudgeCheck):
    """A judge that says when it has raised, so a test can cancel right after."""

    raised: int = 0

    async def aevaluate(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().aevaluate(*args, **kwargs)
        except Exception:
            self.raised += 1
            raise


@pytest.mark.parametrize("status", [500, 400])
@pytest.mark.parametrize("nested", [False, True], ids=["weighted", "weighted-in-all-of"])
def test_a_judge_that_failed_before_the_cancellation_is_a_failed_attempt(
    openai_server: LocalOpenAIServer, status: int, nested: bool
) -> None:
    """The failed judge is recorded as any failed judge is (status, error, $0), beside
    the judge cut off (billed on its prompt); the cancellation is raised, not the fault."""
    openai_server.script([Fault(str(status))], model="judge-model")  # type: ignore[arg-type]
    openai_server.set_latency(5.0, model="judge-b")
    failing = _Failing(openai_chat(openai_server, "judge-model"), name="judge_a")
    slow = JudgeCheck(openai_chat(openai_server, "judge-b"), name="judge_b")
    check: QualityCheck = Weighted([failing, slow], [1, 1], name="mean")
    check = AllOf([check]) if nested else check
    ledger = InMemoryLedger()
    router = _router(openai_server, ledger, check=check, budgets=[Budget(name="all", limit_usd=1)])

    async def cancelled_while_judged() -> None:
        call = asyncio.create_task(router.ainvoke("Hello"))
        while not (failing.raised and openai_server.request_count("judge-b")):
            await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled_while_judged())

    rows = ledger.rows()
    assert [row.model for row in rows] == ["gpt-4o-mini", "judge-model", "judge-b"]
    cheap, failed, cut = rows
    assert cheap.reason == "not judged: cancelled (CancelledError)"
    assert (failed.role, failed.request_model, failed.status_code) == (
        "judge",
        "judge-model",
        status,
    )
    assert failed.error is not None and failed.cost_usd == 0
    assert failed.reason is not None and failed.reason.startswith("quality check of gpt-4o-mini")
    assert (cut.role, cut.reason) == ("judge", "cancelled (CancelledError)")
    assert cut.cost_usd is not None and cut.cost_usd > 0
    gate = router._current().stages.cascade.budgets.gate
    assert isinstance(gate, BudgetGate)
    ((spent, reserved),) = [(s.spent_usd, s.reserved_usd) for s in gate.status(CHAT)]
    assert (spent, reserved) == (cheap.cost_usd + cut.cost_usd, Decimal(0))  # type: ignore[operator]


def test_a_weighted_check_whose_two_judges_fail_records_both_failed_attempts(
    openai_server: LocalOpenAIServer,
) -> None:
    """No cancellation: the first fault is the check's error, and the other judge's
    failed call is an attempt too (both judges were asked)."""
    openai_server.script([Fault("500")], model="judge-model")
    openai_server.script([Fault("503")], model="judge-b")
    first = JudgeCheck(openai_chat(openai_server, "judge-model"), name="judge_a")
    second = JudgeCheck(openai_chat(openai_server, "judge-b"), name="judge_b")
    ledger = InMemoryLedger()
    check = Weighted([first, second], [1, 1], name="mean")
    answer = asyncio.run(_router(openai_server, ledger, check=check).ainvoke("Hello"))

    attempts = answer.response_metadata["costrouter"]["attempts"]
    assert [a["model"] for a in attempts] == ["gpt-4o-mini", "judge-model", "judge-b", "gpt-4o"]
    assert [a.get("status_code") for a in attempts[1:3]] == [500, 503]
    assert [row.model for row in ledger.rows()] == [a["model"] for a in attempts]
