"""Calendar windows: the minute, hour, day or month a moment falls in, in a time zone.

A budget's spend is counted per window, so the window's label is part of the key in
the shared store: every process that agrees on the clock agrees on the key, and a new
window starts from zero without anyone resetting anything. Labels are local calendar
names (``2026-12-04``); minute and hour labels carry the UTC offset, so the repeated
hour when daylight saving time ends is two windows, not one.

Where the offset changes, the windows still tile time (each starts where the one before
ends) and no two share a label:

- A minute or hour window is that local minute or hour at one offset, cut short where
  the offset changes inside it. Lord Howe Island falls back half an hour, from 02:00
  +11 to 01:30 +10:30: ``01+1100`` (an hour), ``01+1030`` (30 minutes), ``02+1030``.
  Chatham springs forward from 02:45 +12:45 to 03:45 +13:45: ``02+1245`` (45 minutes),
  ``03+1345`` (15 minutes).
- A day or month starts at the first instant of its local date. Where the clocks skip
  midnight (Santiago, Havana, Beirut and Asuncion spring forward from 24:00 to 01:00),
  that is the instant they jump, 01:00 local, and the day lasts 23 hours. Where midnight
  happens twice (Havana falls back from 01:00 to 00:00), the day starts at the first.
  Where the clocks fall back across midnight (Goose Bay until 2010, 00:01 back to
  23:01), the evening repeated after midnight belongs to the day that has begun.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal

Period = Literal["minute", "hour", "day", "month"]
PERIODS: tuple[Period, ...] = ("minute", "hour", "day", "month")
_TICK = timedelta(microseconds=1)
_CLOCK_UNITS = {
    "minute": (timedelta(minutes=1), "%Y-%m-%dT%H:%M%z"),
    "hour": (timedelta(hours=1), "%Y-%m-%dT%H%z"),
}


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
    if period in ("minute", "hour"):
        return _clock_window(period, zone, now)
    local = now.astimezone(zone).date()
    first = local if period == "day" else local.replace(day=1)
    end = _first_instant(_following(period, first), zone)
    if now >= end:  # the clocks fell back across midnight: the next date has begun
        first = _following(period, first)
        end = _first_instant(_following(period, first), zone)
    label = first.isoformat() if period == "day" else first.strftime("%Y-%m")
    return Window(label=label, start=_first_instant(first, zone), end=end)


def _clock_window(period: Period, zone: tzinfo, now: datetime) -> Window:
    local = now.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    length, label_format = _CLOCK_UNITS[period]
    wall = local.replace(tzinfo=None, second=0, microsecond=0)
    wall = wall if period == "minute" else wall.replace(minute=0)
    start = (wall - offset).replace(tzinfo=UTC)
    end = start + length
    if _offset_at(start, zone) != offset:  # the offset changed since this minute or hour began
        start = _earliest(lambda moment: _offset_at(moment, zone) == offset, start, now)
    if _offset_at(end - _TICK, zone) != offset:  # it changes before the minute or hour ends
        end = _earliest(lambda moment: _offset_at(moment, zone) != offset, now, end - _TICK)
    label = wall.replace(tzinfo=timezone(offset)).strftime(label_format)
    return Window(label=label, start=start, end=end)


def _first_instant(day: date, zone: tzinfo) -> datetime:
    """When the local date ``day`` begins: its (first) midnight, or, when the clocks
    skip midnight, the instant they jump."""
    midnight = datetime.combine(day, time(0), zone)
    first = midnight.astimezone(UTC)  # fold 0: the first of two; in a gap, the offset before
    if _local_date(first - _TICK, zone) < day <= _local_date(first, zone):
        return first
    # Midnight falls inside a jump that began before it: the day begins where the jump ends.
    earlier = midnight.replace(fold=1).astimezone(UTC)
    return _earliest(lambda moment: _local_date(moment, zone) >= day, earlier, first)


def _earliest(holds: Callable[[datetime], bool], low: datetime, high: datetime) -> datetime:
    """The first moment in [low, high], to the microsecond, from which ``holds`` is true,
    when it is false before it and true after (one offset change in between)."""
    if holds(low):
        return low
    while high - low > _TICK:
        middle = low + (high - low) / 2
        low, high = (low, middle) if holds(middle) else (middle, high)
    return high


def _offset_at(moment: datetime, zone: tzinfo) -> timedelta | None:
    return moment.astimezone(zone).utcoffset()


def _local_date(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def _following(period: Period, first: date) -> date:
    if period == "day":
        return first + timedelta(days=1)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


class WindowClock:
    """The current window of one period and zone, recomputed only when it ends.

    Every reservation needs its budgets' windows; computing one is a few datetime
    operations, reading the cached one is two float comparisons. The window before the
    latest stays cached too: timestamps are read before the call, so near a boundary
    threads ask on both sides of it in turn, and a clock set back asks behind the latest
    window; with one window cached, each of those calls would compute one again. The
    cache is one tuple, replaced whole, so threads never see a torn value.
    """

    def __init__(self, period: Period | None, zone: tzinfo) -> None:
        self.period = period
        self.zone = zone
        never = (0.0, 0.0, FOREVER)
        latest = (float("-inf"), float("inf"), FOREVER) if period is None else never
        self._cached: tuple[float, float, Window, float, float, Window] = (*latest, *never)

    def at(self, timestamp: float) -> Window:
        """The window containing ``timestamp`` (seconds since the epoch)."""
        cached = self._cached
        if cached[0] <= timestamp < cached[1]:
            return cached[2]
        return self._not_latest(timestamp, cached)

    def _not_latest(
        self, timestamp: float, cached: tuple[float, float, Window, float, float, Window]
    ) -> Window:
        if cached[3] <= timestamp < cached[4]:
            return cached[5]
        window = window_at(self.period, self.zone, datetime.fromtimestamp(timestamp, UTC))
        assert window.start is not None and window.end is not None
        start, end = window.start.timestamp(), window.end.timestamp()
        if start >= cached[1]:  # later than the latest, which becomes the one before
            self._cached = (start, end, window, *cached[:3])
        else:
            self._cached = (*cached[:3], start, end, window)
        return window
