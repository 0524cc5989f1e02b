"""Calendar windows around every change of UTC offset in 2020-2030, in every zone.

Hypothesis is not a dependency, so the properties are checked on a fixed set of instants:
each offset change of 2020-2030 in each zone whose offsets differ from every zone checked
before it (aliases and twins are checked once), plus ordinary instants, and a few older
irregularities. From each instant the windows are walked forward and, for each window:
it is not empty and holds the instants it starts, ends and is half over at; the window at
its end starts there; no other window has its label; the label names the local minute,
hour, day or month it starts in; and a WindowClock answers as window_at does just
before, at and just after its start, asked forward and backward.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest

from langchain_costrouter.budgets.windows import PERIODS, Period, Window, WindowClock, window_at

Y2020 = datetime(2020, 1, 1, tzinfo=UTC)
Y2031 = datetime(2031, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
SPAN = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1)}
"""How far before and after an instant to walk (one hour for days and months)."""
LABEL_FORMAT = {"minute": "%Y-%m-%dT%H:%M%z", "hour": "%Y-%m-%dT%H%z", "day": "%Y-%m-%d"}
NAMED = (  # midnight missing or repeated, 30 and 45 minute offsets or changes, 2-hour DST
    "America/Santiago",
    "America/Havana",
    "Asia/Beirut",
    "America/Asuncion",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Antarctica/Casey",
    "Antarctica/Troll",
    "America/New_York",
)
ORDINARY = tuple(
    Y2020 + k * timedelta(days=997, seconds=11851, microseconds=123457) for k in range(4)
)
IRREGULAR = (  # (zone, instant): older oddities that 2020-2030 lacks
    ("America/Goose_Bay", datetime(2010, 11, 7, 3, 1, tzinfo=UTC)),  # 00:01 back to 23:01
    ("America/St_Johns", datetime(2010, 11, 7, 2, 31, tzinfo=UTC)),  # the same at -03:30
    ("Pacific/Apia", datetime(2011, 12, 30, 10, tzinfo=UTC)),  # December 30 skipped
    ("Africa/Monrovia", datetime(1972, 1, 7, 0, 44, 30, tzinfo=UTC)),  # offset -00:44:30
    ("Asia/Kathmandu", datetime(1985, 12, 31, 18, 30, tzinfo=UTC)),  # +05:30 to +05:45
    ("Antarctica/Casey", datetime(2016, 10, 21, 16, tzinfo=UTC)),  # midnight to 03:00
)


def offset_changes(zone: ZoneInfo, since: datetime, until: datetime) -> Iterator[datetime]:
    """The instants in (since, until] where the zone's offset changes: samples two weeks
    apart, bisected to the second (tzdata changes on whole seconds). Two changes within
    two weeks that cancel out would not be seen; daily samples find the same changes."""
    samples = fortnightly(since, until)
    offsets = [sample.astimezone(zone).utcoffset() for sample in samples]
    for i in range(1, len(samples)):
        if offsets[i] != offsets[i - 1]:
            low, high = int(samples[i - 1].timestamp()), int(samples[i].timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                same = datetime.fromtimestamp(middle, zone).utcoffset() == offsets[i - 1]
                low, high = (middle, high) if same else (low, middle)
            yield datetime.fromtimestamp(high, UTC)


@cache
def fortnightly(since: datetime, until: datetime) -> tuple[datetime, ...]:
    steps = (until - since) // timedelta(weeks=2)
    return (*(since + k * timedelta(weeks=2) for k in range(steps + 1)), until)


@cache
def distinct_zones() -> tuple[tuple[ZoneInfo, tuple[datetime, ...]], ...]:
    """Each zone with its offset changes of 2020-2030, skipping zones whose offsets over
    those years equal an earlier one's; the NAMED zones come first, so they are kept."""
    seen, kept = set(), []
    for name in dict.fromkeys((*NAMED, *sorted(available_timezones()))):
        zone = ZoneInfo(name)
        changes = tuple(offset_changes(zone, Y2020, Y2031))
        offsets = tuple(moment.astimezone(zone).utcoffset() for moment in (Y2020, *changes))
        if (changes, offsets) not in seen:
            seen.add((changes, offsets))
            kept.append((zone, changes))
    return tuple(kept)


def local_name(period: Period, zone: tzinfo, moment: datetime) -> str:
    """The local minute, hour, day or month ``moment`` falls in, as labels name them."""
    return moment.astimezone(zone).strftime(LABEL_FORMAT.get(period, "%Y-%m"))


class WindowWalk:
    """The windows of one period and zone, walked from instants; collects what fails."""

    def __init__(self, period: Period, zone: tzinfo) -> None:
        self.period, self.zone = period, zone
        self.forward = WindowClock(period, zone)
        self.backward = WindowClock(period, zone)
        self.labels: dict[str, Window] = {}
        self.problems: list[str] = []

    def around(self, instants: Iterable[datetime]) -> list[str]:
        span = SPAN.get(self.period, timedelta(hours=1))
        for instant in instants:
            for moment in (instant - MICROSECOND, instant, instant + MICROSECOND):
                found = self.window(moment)
                self.expect(found.start <= moment < found.end, f"{moment} outside {found}")
            self.walk(instant - span, instant + span)
        return self.problems

    def walk(self, since: datetime, until: datetime) -> None:
        window = self.window(since)
        self.expect(window.start <= since < window.end, f"{since} outside {window}")
        while window.start <= until:
            if not self.check(window):
                return
            following = self.window(window.end)
            if following.start != window.end:
                self.expect(False, f"{following} does not start where {window} ends")
                return
            window = following

    def check(self, window: Window) -> bool:
        if not self.expect(window.start < window.end, f"{window} is empty or negative"):
            return False
        start, end = window.start, window.end
        self.expect(
            window.label == local_name(self.period, self.zone, start),
            f"{window} is not named after where it starts ({start.astimezone(self.zone)})",
        )
        other = self.labels.setdefault(window.label, window)
        self.expect(other == window, f"{window} and {other} share a label")
        for moment in (start, start + (end - start) / 2, end - MICROSECOND):
            found = self.window(moment)
            self.expect(found == window, f"{moment} is in {window}, window_at says {found}")
        near = [(start + step).timestamp() for step in (-MICROSECOND, timedelta(0), MICROSECOND)]
        expected = [self.window(datetime.fromtimestamp(t, UTC)) for t in near]
        for clock, order in ((self.forward, (0, 1, 2)), (self.backward, (2, 1, 0))):
            for i in order:
                found = clock.at(near[i])
                self.expect(found == expected[i], f"clock at {near[i]}: {found} != {expected[i]}")
        return True

    def window(self, moment: datetime) -> Window:
        window = window_at(self.period, self.zone, moment)
        assert window.start is not None and window.end is not None
        return window

    def expect(self, holds: bool, problem: str) -> bool:
        if not holds:
            self.problems.append(f"{self.zone} {self.period}: {problem}")
        return holds


class OneJump(tzinfo):
    """A zone whose offset changes once, at ``change``, with PEP 495 folds as zoneinfo's:
    no real zone has jumped over midnight from a time before it (23:30 to 00:30)."""

    def __init__(self, change: datetime, before: timedelta, after: timedelta) -> None:
        self.change, self.before, self.after = change.replace(tzinfo=None), before, after

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        wall = dt.replace(tzinfo=None)
        if wall < self.change + min(self.before, self.after):
            return self.before
        if wall >= self.change + max(self.before, self.after):
            return self.after
        return self.after if dt.fold else self.before

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        offset = self.before if utc < self.change else self.after
        local = dt + offset
        repeated = utc >= self.change and local.replace(tzinfo=None) < self.change + self.before
        return local.replace(fold=int(repeated))

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return f"OneJump({self.change}, {self.before}, {self.after})"

    def __str__(self) -> str:
        return self.tzname(None)


JUMP = datetime(2026, 3, 7, 21, 30, tzinfo=UTC)  # 23:30 +02 is 00:30 +03
JUMPS = (
    OneJump(JUMP, timedelta(hours=2), timedelta(hours=3)),
    OneJump(JUMP, timedelta(hours=3), timedelta(hours=2)),  # 00:30 +03 back to 23:30 +02
)


def report(problems: list[str]) -> str:
    return f"{len(problems)} problems, the first ones:\n" + "\n".join(problems[:15])


@pytest.mark.parametrize("period", PERIODS)
def test_windows_around_every_offset_change_of_2020_to_2030(period: Period) -> None:
    problems = [
        problem
        for zone, changes in distinct_zones()
        for problem in WindowWalk(period, zone).around(changes)
    ]
    assert not problems, report(problems)


@pytest.mark.parametrize("period", PERIODS)
def test_windows_at_ordinary_instants(period: Period) -> None:
    zones = [zone for zone, _ in distinct_zones()]
    problems = [p for zone in zones for p in WindowWalk(period, zone).around(ORDINARY)]
    assert not problems, report(problems)


@pytest.mark.parametrize("period", PERIODS)
def test_windows_around_older_irregularities(period: Period) -> None:
    problems = [
        problem
        for name, instant in IRREGULAR
        for problem in WindowWalk(period, ZoneInfo(name)).around([instant])
    ]
    assert not problems, report(problems)


def test_the_offset_changes_found_are_the_real_ones() -> None:
    new_york = ZoneInfo("America/New_York")
    changes = list(offset_changes(new_york, datetime(2026, 1, 1, tzinfo=UTC), Y2031))
    assert changes[:2] == [
        datetime(2026, 3, 8, 7, tzinfo=UTC),
        datetime(2026, 11, 1, 6, tzinfo=UTC),
    ]
    assert len(changes) == 10
    kept = {zone.key: changes for zone, changes in distinct_zones()}
    assert set(NAMED) <= set(kept)
    assert len(kept["Asia/Kathmandu"]) == 0
    assert len(kept["Australia/Lord_Howe"]) == 22
    assert 60 <= len(kept) < len(available_timezones()) / 4


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("zone", JUMPS, ids=["forward", "back"])
def test_windows_where_the_clocks_jump_over_midnight(period: Period, zone: OneJump) -> None:
    problems = WindowWalk(period, zone).around([JUMP])
    assert not problems, report(problems)


def test_a_day_whose_midnight_is_skipped_from_23_30_starts_when_the_clocks_jump() -> None:
    window = window_at("day", JUMPS[0], JUMP + timedelta(minutes=15))
    assert (window.label, window.start) == ("2026-03-08", JUMP)
