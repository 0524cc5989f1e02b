"""Calendar windows: the minute, hour, day or month a moment falls in, in a time zone.

A budget's spend is counted per window, so the window's label is part of the key in
the shared store: every process that agrees on the clock agrees on the key, and a new
window starts from zero without anyone resetting anything. Labels are local calendar
names (``2026-12-04``); minute and hour labels carry the UTC offset, so the repeated
hour when daylight saving time ends is two windows, not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

Period = Literal["minute", "hour", "day", "month"]
PERIODS: tuple[Period, ...] = ("minute", "hour", "day", "month")


@dataclass(frozen=True, slots=True)
class Window:
    """One calendar window.

    Attributes:
        label: Its name in store keys (``2026-12-04``, ``2026-12``, ``all``).
        start: When it began (aware, UTC); None for a budget without a period.
        end: When it ends and the budget resets (aware, UTC); None for a budget
            without a period, which never resets.
    """

    label: str
    start: datetime | None
    end: datetime | None

    @property
    def end_timestamp(self) -> float | None:
        return None if self.end is None else self.end.timestamp()


FOREVER = Window(label="all", start=None, end=None)


def window_at(period: Period | None, zone: tzinfo, now: datetime) -> Window:
    """The window of ``period`` in ``zone`` that contains ``now`` (an aware datetime)."""
    if period is None:
        return FOREVER
    local = now.astimezone(zone)
    if period in ("minute", "hour"):
        return _clock_window(period, local)
    first = local.date() if period == "day" else local.date().replace(day=1)
    following = first + timedelta(days=1) if period == "day" else _next_month(first)
    label = first.isoformat() if period == "day" else first.strftime("%Y-%m")
    return Window(label=label, start=_midnight(first, zone), end=_midnight(following, zone))


def _clock_window(period: Period, local: datetime) -> Window:
    # Time zone offsets are whole minutes, so a local minute or hour has a fixed length.
    if period == "minute":
        start, length, fmt = local.replace(second=0, microsecond=0), 60, "%Y-%m-%dT%H:%M%z"
    else:
        start, length, fmt = local.replace(minute=0, second=0, microsecond=0), 3600, "%Y-%m-%dT%H%z"
    start_utc = start.astimezone(UTC)
    return Window(
        label=start.strftime(fmt), start=start_utc, end=start_utc + timedelta(seconds=length)
    )


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


class WindowClock:
    """The current window of one period and zone, recomputed only when it ends.

    Every reservation needs its budgets' windows; computing one is a few datetime
    operations, reading the cached one is two float comparisons. The cache is one
    tuple, replaced whole, so threads never see a torn value.
    """

    def __init__(self, period: Period | None, zone: tzinfo) -> None:
        self.period = period
        self.zone = zone
        self._cached: tuple[float, float, Window] = (
            (float("-inf"), float("inf"), FOREVER) if period is None else (0.0, 0.0, FOREVER)
        )

    def at(self, timestamp: float) -> Window:
        """The window containing ``timestamp`` (seconds since the epoch)."""
        start, end, window = self._cached
        if start <= timestamp < end:
            return window
        window = window_at(self.period, self.zone, datetime.fromtimestamp(timestamp, UTC))
        assert window.start is not None and window.end is not None
        self._cached = (window.start.timestamp(), window.end.timestamp(), window)
        return window
