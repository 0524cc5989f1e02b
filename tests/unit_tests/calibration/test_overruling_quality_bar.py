"""The issue's quality bar on FrugalGPT's real OVERRULING outcomes (seed 0, half for train)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    oracle_figures,
    recorded_cost,
    savings_pct,
    simulate_policy,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.options import SearchOptions
from tests.unit_tests.calibration.conftest import CalibrateOnce

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / ".." / "shared" / "data"


def _converters() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "convert_data", REPO / "bench" / "convert_data.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_overruling_matches_gpt4_at_a_fraction_of_the_cost(calibrate_once: CalibrateOnce) -> None:
    """`calibrate(train)` with its defaults, the search shared with test_scaled.py."""
    if not (DATA / "frugalgpt_overruling_2023" / "overruling.csv").exists():
        pytest.skip(f"recorded data not found under {DATA.resolve()}")
    records = list(_converters().overruling(DATA))
    train, test = split_records(records, 0.5, seed=0)
    figures = simulate_policy(calibrate_once(train, SearchOptions(), recorded_cost), test)
    matrix = OutcomeMatrix.of(test)
    gpt4 = single_model_figures(matrix)["gpt-4"]
    assert figures.quality >= gpt4.quality - 0.005
    assert figures.quality <= oracle_figures(matrix).quality
    assert savings_pct(figures.cost_usd, gpt4.cost_usd) >= 85.0
