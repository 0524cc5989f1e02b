"""The report's figures (a policy equal to the baseline saves exactly 0, thresholds as
stored) and the split replay evaluates."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from langchain_costrouter.calibration import Policy, StageRule, TaskPolicy
from langchain_costrouter.calibration.evaluate import savings_pct
from langchain_costrouter.calibration.report import (
    SPLIT_KEY,
    checked_split,
    describe_policy,
    figures_report,
    records_digest,
    replay_split,
    threshold_text,
    with_split,
)
from langchain_costrouter.calibration.run import (
    RunSummary,
    outcome_cost,
    replay_router,
    run_records,
)
from langchain_costrouter.cli.calibrate import render_figures
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from tests.unit_tests.calibration.repeated import crossing, row_split, with_copies
from tests.unit_tests.cli.outcome_files import synthetic_records


def _records(
    cost: float, size: int, names: tuple[str, str] = ("big", "small")
) -> list[OutcomeRecord]:
    big, small = names
    outcomes = {big: ModelOutcome(1.0, "yes", cost), small: ModelOutcome(0.0, "no", 0.0)}
    return [
        OutcomeRecord(f"q{n}", "qa", ({"role": "user", "content": f"question {n}"},), outcomes)
        for n in range(size)
    ]


def test_a_policy_that_is_the_baseline_saves_exactly_zero() -> None:
    # Three costs of 0.7: numpy sums them to 2.0999999999999996, the ledger to 2.1.
    records = _records(0.7, 3)
    policy = Policy(tasks={"qa": TaskPolicy(tiers=("big",), rules=())})
    routed = RunSummary.of(run_records(replay_router(policy, records), records)).figures()
    report = figures_report(
        policy=policy, train=[], test=records, routed=routed, cost_of=outcome_cost()
    )
    assert report["baseline"]["model"] == "big"
    assert report["baseline"]["cost_usd"] == report["test"]["cost_usd"] == 2.1
    assert report["savings_pct"] == 0.0 and math.copysign(1.0, report["savings_pct"]) == 1.0


@pytest.mark.parametrize(
    ("cost", "ledger_sum"),
    [
        (0.1234567, 0.3703701),  # rounded to 6 decimals, 0.37037: not what the ledger holds
        (1e-4 / 3, 0.000099999999),  # 21 decimals a row; the ledger keeps each to the picodollar
    ],
)
def test_every_cost_is_the_ledger_s_exact_sum(cost: float, ledger_sum: float) -> None:
    """The routed, baseline and oracle costs are each row's cost in picodollars, summed, as
    `Ledger.summary` sums them (a float that reads back as that Decimal), never rounded."""
    records = _records(cost, 3, ("gpt-4o", "gpt-4o-mini"))  # priced: the ledger sums them
    policy = Policy(tasks={"qa": TaskPolicy(tiers=("gpt-4o",), rules=())})
    router = replay_router(policy, records)
    routed = RunSummary.of(run_records(router, records)).figures()
    report = figures_report(
        policy=policy, train=[], test=records, routed=routed, cost_of=outcome_cost()
    )
    assert router.ledger_store is not None
    (total,) = router.ledger_store.summary(by="all")
    assert total.cost_usd == Decimal(repr(ledger_sum))
    for key in ("test", "baseline", "oracle"):
        assert Decimal(repr(report[key]["cost_usd"])) == total.cost_usd, key


def test_a_loss_that_rounds_to_zero_is_not_negative_zero() -> None:
    assert str(savings_pct(2.1, 2.0999999999999996)) == "0.0"


@pytest.mark.parametrize(
    ("cost", "baseline", "shown"),
    [
        (0.87655, 1.0, 12.35),  # 12.345%: its float arithmetic gave 12.34
        (0.70125, 1.0, 29.88),  # 29.875%: 29.87
        (0.99995, 1.0, 0.01),  # 0.005%: 0.0
        (1.00005, 1.0, -0.01),  # half away from zero both ways
        (0.5931056, 0.8032, 26.16),  # the bundled sample's
    ],
)
def test_the_saving_is_the_exact_figure_rounded_once(
    cost: float, baseline: float, shown: float
) -> None:
    """The costs are exact sums (floats whose shortest repr is the sum, `money`): the
    saving is 100 * (1 - cost / baseline) of those, rounded once to hundredths half away
    from zero, as SQL's round does and as `costrouter report` rounds its percentages."""
    assert savings_pct(cost, baseline) == shown


def test_thresholds_are_shown_as_stored() -> None:
    tiny = 8.9e-9  # still accepts an answer scored 1e-8, which a printed 0.000 would hide
    rules = (StageRule("agreement", tiny),)
    policy = Policy(tasks={"qa": TaskPolicy(tiers=("small", "big"), rules=rules)})
    assert describe_policy(policy)["tasks"]["qa"]["rules"][0]["threshold"] == tiny
    assert float(threshold_text(tiny)) == tiny
    records = _records(0.5, 4)
    routed = RunSummary.of(run_records(replay_router(policy, records), records)).figures()
    report = figures_report(
        policy=policy, train=[], test=records, routed=routed, cost_of=outcome_cost()
    )
    assert f"agreement >= {threshold_text(tiny)}" in render_figures(report)


def test_replay_evaluates_the_split_calibrate_made_on_repeated_prompts() -> None:
    records = with_copies(synthetic_records(120))
    policy = with_split(Policy(tasks={}), records, 0.5, seed=3)
    train, test = replay_split(policy, records)
    assert (train, test) == checked_split(records, 0.5, 3)
    assert not crossing(train, test)


def test_a_policy_calibrated_on_the_row_split_replays_that_split() -> None:
    # Policies written before prompt groups record no grouping: their test rows stay theirs.
    records = with_copies(synthetic_records(120))
    split = {"train_fraction": 0.5, "seed": 3, "records": records_digest(records)}
    train, test = replay_split(Policy(tasks={}, meta={SPLIT_KEY: split}), records)
    assert ([r.id for r in train], [r.id for r in test]) == row_split(records, 0.5, 3)
