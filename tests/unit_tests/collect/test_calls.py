"""``collect``'s caller keeps at most ``--concurrency`` calls in flight."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from langchain_costrouter.collect.calls import Caller, CallLimits


class _SlowRouter:
    """Answers after a pause, counting the calls in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def ainvoke(self, messages: Any, config: Any, **kwargs: Any) -> AIMessage:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        assert config["metadata"]["costrouter_purpose"] == "eval"
        return AIMessage("ok", response_metadata={"costrouter": {"cost_usd": 0.001}})


async def test_at_most_concurrency_calls_are_in_flight() -> None:
    router = _SlowRouter()
    caller = Caller(router, "math", CallLimits(concurrency=2))  # type: ignore[arg-type]
    answers = await asyncio.gather(*(caller.ask("m", [HumanMessage("?")]) for _ in range(8)))
    assert [a.text for a in answers] == ["ok"] * 8
    assert router.most == 2 and caller.calls == 8
    assert str(caller.spent) == "0.008"
