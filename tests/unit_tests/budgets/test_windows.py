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
