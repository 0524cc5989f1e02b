"""The session's shared search (conftest.calibrate_once) is shared only by equal inputs."""

from __future__ import annotations

from dataclasses import replace

from langchain_costrouter.calibration.evaluate import recorded_cost
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.run import outcome_cost
from langchain_costrouter.logprobs import LogprobSummary
from tests.unit_tests.calibration.conftest import CalibrateOnce, search_key, synthetic_records


def test_equal_inputs_share_a_key_and_any_difference_makes_another() -> None:
    records = synthetic_records(30)
    options = SearchOptions(seed=0)
    key = search_key(records, options, recorded_cost)
    reordered = [replace(r, outcomes=dict(reversed(list(r.outcomes.items())))) for r in records]
    assert search_key(reordered, options, outcome_cost()) == key  # the same costs, priced alike
    first = records[0]
    cheap = first.outcomes["cheap"]
    changes = [
        replace(first, outcomes={**first.outcomes, "cheap": replace(cheap, cost_usd=0.0011)}),
        replace(first, outcomes={**first.outcomes, "cheap": replace(cheap, score=1 - cheap.score)}),
        replace(first, outcomes={**first.outcomes, "cheap": replace(cheap, text="Maybe")}),
        replace(
            first,
            outcomes={
                **first.outcomes,
                "cheap": replace(cheap, logprobs=LogprobSummary(-0.1234567, -0.2, 3)),
            },
        ),
        replace(first, task="other"),
        replace(first, extra={"source": "x"}),
    ]
    keys = {search_key([changed, *records[1:]], options, recorded_cost) for changed in changes}
    assert key not in keys and len(keys) == len(changes)
    assert search_key(records[::-1], options, recorded_cost) != key
    assert search_key(records, replace(options, seed=1), recorded_cost) != key
    assert search_key(records, options, lambda model, outcome: 0.5) != key


def test_a_search_asked_again_is_the_one_computed(calibrate_once: CalibrateOnce) -> None:
    records = synthetic_records(120, seed=7)
    options = SearchOptions(method="legacy", seed=3)
    policy = calibrate_once(records, options, recorded_cost)
    assert calibrate_once(list(records), options, recorded_cost) is policy
    assert calibrate_once(records, replace(options, seed=4), recorded_cost) is not policy
