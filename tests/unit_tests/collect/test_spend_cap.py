"""The spend cap: reservations, waiting for questions in flight, learning from real costs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from langchain_costrouter.collect.estimate import SpendCap

D = Decimal


async def test_no_cap_admits_everything() -> None:
    cap = SpendCap(None)
    assert await cap.admit(D("100"), lambda: D("1e6")) == D("100")


async def test_the_cap_stops_when_nothing_in_flight_could_free_room() -> None:
    cap = SpendCap(D("1.00"))
    assert await cap.admit(D("0.60"), lambda: D(0)) == D("0.60")
    await cap.settle(D("0.60"), D("0.60"), D("0.60"))
    assert await cap.admit(D("0.60"), lambda: D("0.60")) is None
    assert cap.stop_reason is not None and "$1.00" in cap.stop_reason
    assert await cap.admit(D("0.01"), lambda: D("0.60")) is None  # stopped for good


async def test_a_question_waits_for_the_ones_in_flight() -> None:
    cap = SpendCap(D("1.00"))
    spent = [D(0)]
    first = await cap.admit(D("0.60"), lambda: spent[0])
    assert first is not None
    waiting = asyncio.ensure_future(cap.admit(D("0.60"), lambda: spent[0]))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    spent[0] = D("0.10")  # the first question cost far less than estimated
    await cap.settle(first, D("0.60"), D("0.10"))
    # the estimate is now corrected by 0.10 / 0.60: 0.10 spent + 0.10 reserved fits
    assert await waiting == D("0.10")
