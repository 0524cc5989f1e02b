"""The 0/1 loss bound holds its confidence over the samples calibration sees, not given them.

A cascade's paired loss on 0/1 scores is ``P(loss) - P(win)``: the questions the
baseline gets right and the cascade wrong, less the reverse. A bound conditional on the
number of disagreements (McNemar: Clopper-Pearson on the losses' share of them, times
the observed disagreement rate taken as known) is exact given that number, but not over
the samples: a cascade that disagrees on 1% of questions and loses every one of them
disagrees on none of 200 questions 13% of the time, and such a sample bounded the loss
by 0 while it is 1 point. Over populations of this grid it held the loss in as few as
50% of draws (every disagreement a loss: the losses' share bound is 1, so the bound is
the observed loss itself), and promised "at most half a point" for a 1-point loss in
38% of draws of 100 questions.

Each population here is a trinomial (loss, win, tie) over the grid calibration meets
(disagreement rates 0.2% to 10%, a loss share among them of 0.5 to 1, 100 to 3,000
questions); 1,000 seeded draws of each count how often the bound at 95% holds the true
loss, and how often it promises the default allowed loss (`options.SearchOptions`: 0.005
at 0.95) while the true loss is above it. The bound is a function of the counts alone
(the rows' order and which rows they are do not matter), so it is computed once per
distinct count drawn.
"""

from __future__ import annotations

import numpy as np
import pytest

from langchain_costrouter.calibration.bounds import loss_upper_bound
from langchain_costrouter.calibration.options import SearchOptions

DRAWS = 1000
RATES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
SHARES = (0.5, 0.7, 1.0)
COVERAGE, FALSE_PROMISES = 0.93, 0.05
"""At 95%, 1,000 draws of a bound that holds land above 93% (three standard errors)."""


def _bound(losses: int, wins: int, size: int, confidence: float) -> float:
    """The bound of a sample with these counts, from real 0/1 score columns."""
    baseline = np.ones(size)
    cascade = np.ones(size)
    cascade[:losses] = 0.0
    baseline[losses : losses + wins] = 0.0
    return loss_upper_bound(baseline, cascade, confidence).upper


def _cell(rate: float, share: float, size: int) -> tuple[float, float, float]:
    """(true loss, share of draws whose bound holds it, share of false promises)."""
    options = SearchOptions()
    rng = np.random.default_rng([int(rate * 10_000), int(share * 10), size])
    counts = rng.multinomial(size, [rate * share, rate * (1.0 - share), 1.0 - rate], DRAWS)
    pairs, which = np.unique(counts[:, :2], axis=0, return_inverse=True)
    bounds = np.array(
        [_bound(int(losses), int(wins), size, options.confidence) for losses, wins in pairs]
    )[which.ravel()]
    loss = rate * (2.0 * share - 1.0)
    held = float(np.mean(bounds >= loss - 1e-12))
    promised = float(np.mean(bounds <= options.max_quality_loss))
    return loss, held, promised if loss > options.max_quality_loss else 0.0


@pytest.mark.parametrize("size", [100, 300, 1000, 3000])
def test_the_binary_loss_bound_holds_every_plausible_population(size: int) -> None:
    failures = []
    for rate in RATES:
        for share in SHARES:
            loss, held, promised = _cell(rate, share, size)
            if held < COVERAGE or promised > FALSE_PROMISES:
                failures.append(
                    f"rate {rate}, loss share {share}, loss {loss:.4f}: "
                    f"held {held:.3f}, promised {promised:.3f}"
                )
    assert not failures, "\n".join(failures)
