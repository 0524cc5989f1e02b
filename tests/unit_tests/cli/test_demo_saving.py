"""The demo's percentages are the exact figures rounded once, to the tenth they show.

The saving was rounded to hundredths first (`calibration.evaluate.savings_pct`) and
then to a tenth when printed: a saving of 12.0451% read 12.05, then 12.1%, where it is
12.0%. Then it went through a float: 12.35% (12.349999999999999) read 12.3%, and 23 of
80 calls escalated (28.75%, 28.749999999999996) read 28.7%. Ties round half away from
zero, as SQL's round does on the ledger's sums (SQLite and Postgres alike).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from langchain_costrouter.calibration.run import ServedCall, outcome_cost
from langchain_costrouter.cli import demo, demo_render


@pytest.mark.parametrize(
    ("cost", "reference", "shown"),
    [
        ("0.879549", "1", "12.0%"),  # 12.0451%: 12.05 rounded to hundredths first
        ("0.5", "1", "50.0%"),
        ("0.00099995", "0.001", "0.0%"),  # 0.005%, not -0.0% nor 0.1%
        ("0.3025924", "0.30933", "2.2%"),  # the bundled demo's math pass
        ("0.8765", "1", "12.4%"),  # 12.35%: 12.349999999999999 as a float
        ("0.7175", "1", "28.3%"),  # 28.25%: exact in binary, formatted half to even
        ("1.0005", "1", "-0.1%"),  # -0.05%: half away from zero, as SQL's round
    ],
)
def test_a_pass_s_saving_is_the_exact_figure_rounded_once(
    cost: str, reference: str, shown: str
) -> None:
    record = next(r for r in demo._bundled_records() if all(o.text for o in r.outcomes.values()))
    strongest = next(iter(record.outcomes))
    call = ServedCall(
        record=record,
        model=strongest,
        quality=1.0,
        cost_usd=Decimal(cost),
        attempted=(strongest,),
        escalated=False,
        cache_hit=False,
        baseline_usd=Decimal(reference),
    )
    figures = demo._task_figures(strongest, outcome_cost())([call])["total"]
    exact = 100 * (Decimal(reference) - Decimal(cost)) / Decimal(reference)
    _, _, fmt = next(c for c in demo_render.FIRST_COLUMNS if c[1] == "savings_pct")
    assert fmt is not None and fmt(figures) == shown
    assert figures["savings_pct"] == float(exact)  # --json: the exact figure, unrounded


@pytest.mark.parametrize(("escalated", "shown"), [(23, "28.8%"), (49, "61.3%"), (1, "1.3%")])
def test_a_pass_s_rates_are_its_counts_rounded_once(escalated: int, shown: str) -> None:
    """Of 80 calls: 23 is 28.75% (28.7% through a float), 49 is 61.25% and 1 is 1.25%
    (1.2% through a float), rounded half away from zero as SQL's round does on the
    ledger; the cache hits likewise."""
    records = [r for r in demo._bundled_records() if all(o.text for o in r.outcomes.values())]
    strongest = next(iter(records[0].outcomes))
    calls = [
        ServedCall(
            record=record,
            model=strongest,
            quality=1.0,
            cost_usd=Decimal("0.001"),
            attempted=(strongest,),
            escalated=index < escalated,
            cache_hit=index < escalated,
            baseline_usd=Decimal("0.002"),
        )
        for index, record in enumerate(records[:80])
    ]
    figures = demo._task_figures(strongest, outcome_cost())(calls)["total"]
    assert (figures["escalations"], figures["cache_hits"]) == (escalated, escalated)
    for columns, key in (
        (demo_render.FIRST_COLUMNS, "escalation_rate"),
        (demo_render.SECOND_COLUMNS, "cache_hit_rate"),
    ):
        _, _, fmt = next(c for c in columns if c[1] == key)
        assert fmt is not None and fmt(figures) == shown, key
