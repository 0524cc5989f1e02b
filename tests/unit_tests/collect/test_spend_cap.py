"""The spend cap: worst-case reservations, waiting for questions in flight, stopping."""

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
    await cap.settle(D("0.60"))
    assert await cap.admit(D("0.60"), lambda: D("0.60")) is None
    assert cap.stop_reason is not None and "$1.00" in cap.stop_reason
    assert "could cost up to $0.600000" in cap.stop_reason
    assert await cap.admit(D("0.01"), lambda: D("0.60")) is None  # stopped for good


async def test_a_question_waits_for_the_ones_in_flight() -> None:
    cap = SpendCap(D("1.00"))
    spent = [D(0)]
    first = await cap.admit(D("0.60"), lambda: spent[0])
    assert first is not None
    waiting = asyncio.ensure_future(cap.admit(D("0.60"), lambda: spent[0]))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    spent[0] = D("0.10")  # the first question cost far less than its worst case
    await cap.settle(first)
    assert await waiting == D("0.60")  # 0.10 spent + its whole worst case fits


async def test_a_finished_question_never_makes_the_next_reservation_smaller() -> None:
    """The old cap scaled the next reservation by past actual/estimated costs, so cheap
    first answers let long later answers pass the cap; the worst case is held whole."""
    cap = SpendCap(D("1.00"))
    spent = [D(0)]
    first = await cap.admit(D("0.40"), lambda: spent[0])
    assert first is not None
    spent[0] = D("0.01")
    await cap.settle(first)
    assert await cap.admit(D("0.40"), lambda: spent[0]) == D("0.40")
    assert await cap.admit(D("0.40"), lambda: spent[0]) == D("0.40")  # 0.81 fits
    waiting = asyncio.ensure_future(cap.admit(D("0.40"), lambda: spent[0]))
    await asyncio.sleep(0.01)
    assert not waiting.done() and cap.reserved == D("0.80")  # 1.21 would not fit
    waiting.cancel()


async def test_stop_ends_admission_even_with_room_left() -> None:
    cap = SpendCap(D("1.00"))
    await cap.stop("the provider ignores the output cap")
    assert await cap.admit(D("0.01"), lambda: D(0)) is None
    assert cap.stop_reason == "the provider ignores the output cap"
