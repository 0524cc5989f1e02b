"""The in-memory and the SQLite ledger agree on every figure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from langchain_costrouter.ledger import Ledger, open_ledger
from tests.unit_tests.ledger.support import sample_rows


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as opened:
        yield opened


def test_rows_round_trip_exactly(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    assert ledger.rows() == sample_rows()


def test_the_same_attempt_is_recorded_once(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    ledger.add(sample_rows()[:2])
    assert ledger.flush() == 0
    assert len(ledger.rows()) == 5


def test_summary_by_task(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    classify, chat = ledger.summary(by="task")
    assert classify.key == "classify"
    assert (classify.calls, classify.attempts) == (2, 3)
    assert classify.cost_usd == Decimal("0.005")
    assert classify.baseline_cost_usd == Decimal("0.06")
    assert classify.savings_usd == Decimal("0.055")
    assert classify.savings_pct == pytest.approx(100 * 0.055 / 0.06)
    assert classify.cache_hit_rate == 0.5
    assert classify.escalation_rate == 0.5
    assert classify.reasoning_tokens == 5
    assert (chat.key, chat.calls, chat.unpriced, chat.cache_read_tokens) == ("chat", 1, 1, 500)
    assert (classify.replayed_input_tokens, classify.replayed_output_tokens) == (100, 10)
    assert (chat.replayed_input_tokens, chat.replayed_output_tokens) == (0, 0)  # no hit there
    # r3's judge has no price: the call's cost and saving are unknown, so it is left out.
    assert (chat.cost_usd, chat.baseline_cost_usd, chat.savings_usd) == (None, None, None)
    assert (chat.unpriced_calls, chat.unpriced_calls_known_cost_usd) == (1, Decimal("0.002"))


def test_summary_totals_and_by_model(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    (totals,) = ledger.summary(by="all")
    assert (totals.calls, totals.attempts, totals.input_tokens) == (3, 5, 1300)
    assert totals.cost_usd == Decimal("0.005")  # r3 (a row of unknown price) is left out
    assert totals.baseline_cost_usd == Decimal("0.06")
    assert totals.savings_usd == totals.baseline_cost_usd - totals.cost_usd
    assert (totals.unpriced, totals.unpriced_calls) == (1, 1)
    by_model = {row.key: row for row in ledger.summary(by="model")}
    assert set(by_model) == {"small", "big", "mystery"}
    assert by_model["mystery"].cost_usd is None
    assert by_model["small"].calls == 3


def test_summary_by_day_and_since(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    assert [row.key for row in ledger.summary(by="day")] == ["2026-03-01", "2026-03-02"]
    (later,) = ledger.summary(by="task", since="2026-03-02T00:00:00")
    assert later.key == "chat"
    (none,) = ledger.summary(by="all", since="2027-01-01")
    assert (none.calls, none.cost_usd, none.savings_pct) == (0, None, None)


def test_rows_without_a_task_are_grouped_as_none(ledger: Ledger) -> None:
    ledger.add([replace(sample_rows()[0], task=None)])
    assert [row.key for row in ledger.summary(by="task")] == ["(none)"]


def test_to_pandas(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    frame = ledger.summary(by="task").to_pandas()
    assert list(frame.index) == ["classify", "chat"]
    assert frame.loc["classify", "cost_usd"] == pytest.approx(0.005)


def test_summary_row_json_has_floats(ledger: Ledger) -> None:
    ledger.add(sample_rows())
    (totals,) = ledger.summary(by="all")
    as_json = totals.to_dict()
    assert as_json["cost_usd"] == pytest.approx(0.005)
    assert as_json["unpriced_calls_known_cost_usd"] == pytest.approx(0.002)
    assert isinstance(as_json["baseline_cost_usd"], float)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone is America/New_York for the test (UTC-5 in March)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_a_row_s_day_and_filters_are_its_utc_time_in_every_store(ledger: Ledger) -> None:
    """A row given a time in another zone, or a naive one (UTC, as `rows_from_costrouter`
    takes it), is summarised by its UTC time in every store, whatever the machine's zone.

    The memory ledger grouped 00:30+02:00 under its local date (2026-03-02) and raised
    TypeError filtering a naive row; SQLite read the naive row as the machine's local
    time (in New York 23:30 became 04:30 the next day).
    """
    first, second = sample_rows()[:2]
    east = datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    ledger.add([replace(first, time=east), replace(second, time=datetime(2026, 3, 2, 23, 30))])
    days = {row.key: row.attempts for row in ledger.summary(by="day")}
    assert days == {"2026-03-01": 1, "2026-03-02": 1}
    (later,) = ledger.summary(by="all", since="2026-03-02")
    assert later.attempts == 1
    assert [row.time for row in ledger.rows()] == [
        datetime(2026, 3, 1, 22, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 23, 30, tzinfo=UTC),
    ]


def test_the_saving_percent_is_the_float_nearest_the_exact_figure(ledger: Ledger) -> None:
    """$3,820.457301827284 saved of $7,122.172039328690 is 53.641744129890275...%: the
    nearest float is 53.64174412989028; multiplying the picodollars by 100.0 first
    rounded once more and gave 53.64174412989027."""
    baseline, saved = Decimal("7122.172039328690"), Decimal("3820.457301827284")
    row = replace(sample_rows()[0], cost_usd=baseline - saved, baseline_cost_usd=baseline)
    ledger.add([row])
    (totals,) = ledger.summary(by="all")
    exact = Fraction(saved) * 100 / Fraction(baseline)
    assert totals.savings_pct == float(exact) == 53.64174412989028
