"""Calendar windows: labels, ends, time zones and daylight saving time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from langchain_costrouter.budgets.windows import FOREVER, WindowClock, window_at

NOON = datetime(2026, 12, 4, 12, 34, 56, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "label", "end"),
    [
        ("minute", "2026-12-04T12:34+0000", datetime(2026, 12, 4, 12, 35, tzinfo=UTC)),
        ("hour", "2026-12-04T12+0000", datetime(2026, 12, 4, 13, tzinfo=UTC)),
        ("day", "2026-12-04", datetime(2026, 12, 5, tzinfo=UTC)),
        ("month", "2026-12", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_utc_windows(period: str, label: str, end: datetime) -> None:
    window = window_at(period, UTC, NOON)  # type: ignore[arg-type]
    assert (window.label, window.end) == (label, end)
    assert window.start is not None and window.start <= NOON < end


def test_no_period_is_one_window_that_never_ends() -> None:
    assert window_at(None, UTC, NOON) == FOREVER
    assert FOREVER.end is None


def test_a_day_in_a_time_zone_ends_at_its_local_midnight() -> None:
    tokyo = window_at("day", ZoneInfo("Asia/Tokyo"), datetime(2026, 12, 4, 16, tzinfo=UTC))
    assert tokyo.label == "2026-12-05"  # 01:00 on the 5th in Tokyo
    assert tokyo.end == datetime(2026, 12, 5, 15, tzinfo=UTC)


def test_hours_follow_half_hour_offsets() -> None:
    kolkata = window_at("hour", ZoneInfo("Asia/Kolkata"), datetime(2026, 12, 4, 12, 10, tzinfo=UTC))
    assert kolkata.label == "2026-12-04T17+0530"
    assert kolkata.end == datetime(2026, 12, 4, 12, 30, tzinfo=UTC)


def test_the_repeated_hour_when_daylight_saving_ends_is_two_windows() -> None:
    zone = ZoneInfo("America/New_York")
    first = window_at("hour", zone, datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
    second = window_at("hour", zone, datetime(2026, 11, 1, 6, 30, tzinfo=UTC))
    assert first.label == "2026-11-01T01-0400"
    assert second.label == "2026-11-01T01-0500"
    assert first.end == datetime(2026, 11, 1, 6, tzinfo=UTC)


def test_the_day_daylight_saving_ends_lasts_25_hours() -> None:
    window = window_at("day", ZoneInfo("America/New_York"), datetime(2026, 11, 1, 12, tzinfo=UTC))
    assert window.start is not None and window.end is not None
    assert (window.end - window.start).total_seconds() == 25 * 3600


def test_clock_returns_the_cached_window_until_it_ends_and_handles_clocks_set_back() -> None:
    clock = WindowClock("minute", UTC)
    start = NOON.replace(second=0).timestamp()
    assert clock.at(start + 1).label == "2026-12-04T12:34+0000"
    assert clock.at(start + 59.9).label == "2026-12-04T12:34+0000"
    assert clock.at(start + 60).label == "2026-12-04T12:35+0000"
    assert clock.at(start - 1).label == "2026-12-04T12:33+0000"


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("zone", "now", "period", "label", "start", "end"),
    [
        # Lord Howe falls back 30 minutes, from 02:00 +11 to 01:30 +10:30.
        ("Australia/Lord_Howe", _utc(2026, 4, 4, 14, 30), "hour", "2026-04-05T01+1100",
         _utc(2026, 4, 4, 14), _utc(2026, 4, 4, 15)),
        ("Australia/Lord_Howe", _utc(2026, 4, 4, 15, 10), "hour", "2026-04-05T01+1030",
         _utc(2026, 4, 4, 15), _utc(2026, 4, 4, 15, 30)),
        ("Australia/Lord_Howe", _utc(2026, 4, 4, 15, 40), "hour", "2026-04-05T02+1030",
         _utc(2026, 4, 4, 15, 30), _utc(2026, 4, 4, 16, 30)),
        # Chatham springs forward from 02:45 +12:45 to 03:45 +13:45.
        ("Pacific/Chatham", _utc(2026, 9, 26, 13, 50), "hour", "2026-09-27T02+1245",
         _utc(2026, 9, 26, 13, 15), _utc(2026, 9, 26, 14)),
        ("Pacific/Chatham", _utc(2026, 9, 26, 14, 5), "hour", "2026-09-27T03+1345",
         _utc(2026, 9, 26, 14), _utc(2026, 9, 26, 14, 15)),
        # Casey went from 00:01 +08 to 03:01 +11.
        ("Antarctica/Casey", _utc(2020, 10, 3, 16, 0, 30), "hour", "2020-10-04T00+0800",
         _utc(2020, 10, 3, 16), _utc(2020, 10, 3, 16, 1)),
        ("Antarctica/Casey", _utc(2020, 10, 3, 16, 30), "hour", "2020-10-04T03+1100",
         _utc(2020, 10, 3, 16, 1), _utc(2020, 10, 3, 17)),
        # Santiago skips midnight (24:00 -04 is 01:00 -03): the day starts at the jump.
        ("America/Santiago", _utc(2026, 9, 6, 12), "day", "2026-09-06",
         _utc(2026, 9, 6, 4), _utc(2026, 9, 7, 3)),
        # Havana repeats midnight (01:00 -04 back to 00:00 -05): the first one starts it.
        ("America/Havana", _utc(2026, 11, 1, 12), "day", "2026-11-01",
         _utc(2026, 11, 1, 4), _utc(2026, 11, 2, 5)),
        # Goose Bay fell back from 00:01 -03 to 23:01 -04: the evening repeated after
        # midnight belongs to the day that had begun.
        ("America/Goose_Bay", _utc(2010, 11, 7, 3, 30), "day", "2010-11-07",
         _utc(2010, 11, 7, 3), _utc(2010, 11, 8, 4)),
    ],
)  # fmt: skip
def test_windows_where_the_offset_changes_at_odd_times(
    zone: str, now: datetime, period: str, label: str, start: datetime, end: datetime
) -> None:
    window = window_at(period, ZoneInfo(zone), now)  # type: ignore[arg-type]
    assert (window.label, window.start, window.end) == (label, start, end)


def test_a_clock_asked_on_both_sides_of_a_boundary_keeps_both_windows() -> None:
    """Timestamps are read before the call, so threads near a boundary ask on both sides
    of it in turn; the clock must not compute a window again for each of them."""
    clock = WindowClock("minute", UTC)
    boundary = NOON.replace(second=0).timestamp() + 60
    after, before = clock.at(boundary + 0.5), clock.at(boundary - 0.5)
    assert (before.label, after.label) == ("2026-12-04T12:34+0000", "2026-12-04T12:35+0000")
    for _ in range(3):
        assert clock.at(boundary - 0.1) is before
        assert clock.at(boundary + 0.1) is after


def test_a_clock_set_back_computes_the_earlier_window_once() -> None:
    clock = WindowClock("hour", ZoneInfo("Europe/Berlin"))
    now = NOON.timestamp()
    current, earlier = clock.at(now), clock.at(now - 3600)
    assert earlier.end == current.start
    assert clock.at(now - 3500) is earlier
    assert clock.at(now) is current
