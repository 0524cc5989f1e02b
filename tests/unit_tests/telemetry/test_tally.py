"""Tally sums: what an observable counter reads, by attribute set, with the SDK's limit."""

from __future__ import annotations

import pytest

from langchain_costrouter.telemetry import tally
from langchain_costrouter.telemetry.tally import OVERFLOW, Tally
from tests.otel_fixtures import Otel


def _observed(sums: Tally) -> dict[tuple[tuple[str, object], ...], float]:
    return {tuple(o.attributes.items()): o.value for o in sums.observe()}  # type: ignore[union-attr]


def test_adds_are_summed_per_attribute_set_and_named_on_observation() -> None:
    sums = Tally("costrouter.task", "costrouter.tier")
    sums.add(0.5, ("chat", 0))
    sums.add(0.25, ("chat", 0))
    sums.add(1, ("chat", 1))
    assert _observed(sums) == {
        (("costrouter.task", "chat"), ("costrouter.tier", 0)): 0.75,
        (("costrouter.task", "chat"), ("costrouter.tier", 1)): 1,
    }


def test_new_sets_beyond_the_cardinality_limit_add_to_one_overflow_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tally, "CARDINALITY_LIMIT", 2)
    sums = Tally("costrouter.task")
    for task, value in (("a", 1), ("b", 2), ("c", 3), ("d", 4), ("a", 5)):
        sums.add(value, (task,))
    assert _observed(sums) == {
        (("costrouter.task", "a"),): 6,
        (("costrouter.task", "b"),): 2,
        tuple(OVERFLOW.items()): 7,
    }


def test_an_observable_counter_over_a_tally_reads_cumulative_sums(otel: Otel) -> None:
    sums = Tally("costrouter.task")
    meter = otel.providers.meter_provider.get_meter("test")  # type: ignore[union-attr]
    meter.create_observable_counter("test.tally", [sums.observe])
    sums.add(2, ("chat",))
    assert [p.value for p in otel.points("test.tally")] == [2]
    sums.add(3, ("chat",))
    (point,) = otel.points("test.tally")
    assert (point.value, dict(point.attributes)) == (5, {"costrouter.task": "chat"})
