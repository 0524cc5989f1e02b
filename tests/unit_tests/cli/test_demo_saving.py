"""The demo's saving column is the exact saving rounded once, to the tenth it shows.

It was rounded to hundredths first (`calibration.evaluate.savings_pct`) and then to a
tenth when printed: a saving of 12.0451% read 12.05, then 12.1%, where it is 12.0%.
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
    assert fmt is not None and fmt(figures["savings_pct"]) == shown
    assert figures["savings_pct"] == float(exact)  # --json: the exact figure, unrounded
