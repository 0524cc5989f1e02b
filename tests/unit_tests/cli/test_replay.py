"""``costrouter replay``: a saved policy's figures, on its own test split or on new records."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import open_ledger
from langchain_costrouter.calibration import Policy, TaskPolicy, load_policy, save_policy
from langchain_costrouter.cli import main
from langchain_costrouter.cli.replay import render_replay
from langchain_costrouter.ledger.summary import SummaryRow
from langchain_costrouter.outcomes import write_outcomes
from tests.unit_tests.cli.outcome_files import synthetic_records, write_file, write_lines


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """(outcomes file, policy file, the calibrate report)."""
    folder = tmp_path_factory.mktemp("replay")
    outcomes, policy = write_file(folder / "evals.jsonl"), folder / "policy.json"
    stdout = io.StringIO()  # capsys is per test; this fixture is per module
    with contextlib.redirect_stdout(stdout):
        assert main(["calibrate", str(outcomes), "--out", str(policy), "--json"]) == 0
    return outcomes, policy, json.loads(stdout.getvalue())


def test_replay_on_the_calibration_file_reproduces_calibrate(
    calibrated: tuple[Path, Path, dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, policy, calibrate_report = calibrated
    assert main(["replay", str(outcomes), "--policy", str(policy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evaluated_on"] == "test split"
    for key in ("train_size", "test_size", "test", "baseline", "oracle", "savings_pct"):
        assert report[key] == calibrate_report[key], key


def test_replay_on_new_records_evaluates_all_of_them(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, policy, _ = calibrated
    fresh = write_file(tmp_path / "fresh.jsonl", size=60, seed=7, prefix="new")
    assert main(["replay", str(fresh), "--policy", str(policy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evaluated_on"] == "all records"
    assert (report["train_size"], report["test_size"]) == (0, 60)
    assert sum(report["test"]["calls_by_model"].values()) >= 60
    assert report["test"]["quality"] <= report["oracle"]["quality"]


def test_replay_prints_a_table(
    calibrated: tuple[Path, Path, dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, policy, _ = calibrated
    assert main(["replay", str(outcomes), "--policy", str(policy)]) == 0
    out = capsys.readouterr().out
    assert "routed (policy)" in out
    assert str(policy) in out


def test_a_task_the_policy_lacks_is_a_clear_error(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, policy, _ = calibrated
    line = json.loads(write_file(tmp_path / "one.jsonl", size=1).read_text())
    other = write_lines(tmp_path / "other.jsonl", [{**line, "task": "translation"}])
    assert main(["replay", str(other), "--policy", str(policy), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no cascade for task labels ['translation']" in captured.err


def test_a_broken_policy_file_is_a_clear_error(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes, _, _ = calibrated
    broken = tmp_path / "policy.json"
    broken.write_text('{"kind": "something-else"}')
    assert main(["replay", str(outcomes), "--policy", str(broken)]) == 2
    assert "not a costrouter policy" in capsys.readouterr().err


def test_an_outcome_without_a_cost_names_its_line(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes, policy, _ = calibrated
    good = json.loads(outcomes.read_text().splitlines()[0])
    bare = {**good, "id": "x2", "outcomes": {m: {"score": 1.0} for m in good["outcomes"]}}
    path = write_lines(tmp_path / "bare.jsonl", [good, bare])
    assert main(["replay", str(path), "--policy", str(policy)]) == 2
    assert f"{path}:2: record 'x2': model " in capsys.readouterr().err


DEMO_OUTCOMES = Path(str(resources.files("langchain_costrouter") / "data" / "demo_outcomes.jsonl"))


@pytest.fixture(scope="module")
def demo_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The legacy search's cascade on the bundled sample: Mixtral, then gpt-4 (priced)."""
    policy = tmp_path_factory.mktemp("demo_policy") / "policy.json"
    with contextlib.redirect_stdout(io.StringIO()):
        args = ["calibrate", str(DEMO_OUTCOMES), "--method", "legacy", "--out", str(policy)]
        assert main(args) == 0
    return policy


def _ledger_totals(url: str) -> dict[str, SummaryRow]:
    """The ledger's own sums, per task and ``total``, as `costrouter report` reads them."""
    ledger = open_ledger(url)
    try:
        (total,) = ledger.summary(by="all")
        return {**{row.key: row for row in ledger.summary(by="task")}, "total": total}
    finally:
        ledger.close()


def test_the_replay_s_figures_are_its_ledger_s(
    demo_policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Calls, cost, reference and saving, per task and in total, equal the sums of the
    rows written to --ledger: the JSON exactly, the table to its last decimal."""
    url = f"sqlite:///{tmp_path / 'json.sqlite'}"
    args = ["replay", str(DEMO_OUTCOMES), "--policy", str(demo_policy), "--ledger", url]
    assert main([*args, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["ledger"]
    sums = _ledger_totals(url)
    assert figures["url"] == url
    shown_groups = {**figures["tasks"], "total": figures["total"]}
    assert set(shown_groups) == set(sums)
    for task, row in sums.items():
        shown = shown_groups[task]
        assert shown["calls"] == row.calls, task
        assert shown["cost_usd"] == float(row.cost_usd or Decimal(0)), task
        assert shown["reference_cost_usd"] == float(row.baseline_cost_usd or Decimal(0)), task
        assert shown["savings_pct"] == row.savings_pct, task
    assert (sums["total"].calls, str(sums["total"].cost_usd)) == (115, "0.593105600000")

    table_url = f"sqlite:///{tmp_path / 'table.sqlite'}"
    assert (
        main(["replay", str(DEMO_OUTCOMES), "--policy", str(demo_policy), "--ledger", table_url])
        == 0
    )
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line}
    for task, row in _ledger_totals(table_url).items():
        calls, cost, reference, saving = lines[task][1:5]
        assert int(calls) == row.calls, task
        assert Decimal(cost) == row.cost_usd, task  # exact: as many decimals as it needs
        assert Decimal(reference) == row.baseline_cost_usd, task
        assert saving == f"{row.savings_pct:.1f}%", task


def test_the_ledger_table_s_saving_is_the_exact_figure_rounded_once(
    demo_policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """$0.247 saved of a $2 reference is 12.35%: the table shows 12.4%, as SQL's round
    gives on the ledger's sums; from the float (12.349999999999999) it showed 12.3%."""
    assert main(["replay", str(DEMO_OUTCOMES), "--policy", str(demo_policy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    tie = {"calls": 80, "cost_usd": 1.753, "reference_cost_usd": 2.0, "savings_pct": 12.35}
    report["ledger"] = {**report["ledger"], "tasks": {"chat": tie}, "total": tie}
    lines = [line.split() for line in render_replay(report).splitlines()]
    assert [cells[-1] for cells in lines if cells[:1] in (["chat"], ["total"])] == ["12.4%"] * 2


def test_an_unpriced_reference_is_unknown_never_free(
    calibrated: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The synthetic models have recorded costs and no price: the ledger holds every
    call's cost and no baseline, so the reference and the saving are unknown."""
    outcomes, policy, _ = calibrated
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    args = ["replay", str(outcomes), "--policy", str(policy), "--ledger", url]
    assert main([*args, "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["ledger"]["total"]
    ledger = open_ledger(url)
    try:
        rows = list(ledger.rows())
    finally:
        ledger.close()
    assert all(row.baseline_cost_usd is None for row in rows)
    assert total["calls"] == len({row.run_id for row in rows}) == 80
    assert total["cost_usd"] == float(sum(row.cost_usd or Decimal(0) for row in rows))
    assert (total["reference_cost_usd"], total["savings_pct"]) == (None, None)
    assert main(args) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("total"))
    assert line.split()[3:5] == ["unknown", "unknown"]


def _thirds(path: Path) -> Path:
    """The synthetic file at a third of each cost (3.3333333333333335e-05: 21 decimals, as
    OVERRULING's recorded costs have), priced by names the price table knows, so the
    ledger sums every call (`Ledger.summary` leaves out calls of an unpriced reference)."""
    names = {"acme/tiny-1b": "gpt-4o-mini", "acme/mid-8b": "gpt-4o", "bigco/ultra-2": "gpt-4"}
    records = [
        replace(
            record,
            outcomes={
                names[model]: replace(outcome, cost_usd=(outcome.cost_usd or 0.0) / 3)
                for model, outcome in record.outcomes.items()
            },
        )
        for record in synthetic_records(160)
    ]
    write_outcomes(path, records)
    return path


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


@pytest.mark.parametrize("source", ["demo", "thirds"])
def test_calibrate_and_replay_json_costs_are_the_ledger_s_exact_sums(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """calibrate --json's and replay --json's routed cost is what the ledger of those calls
    sums (a float whose shortest repr is that Decimal), not rounded to 6 decimals (the
    demo's 0.593106 for the ledger's 0.5931056); the baseline's cost is what the ledger of
    the baseline alone on the same test split sums."""
    outcomes = DEMO_OUTCOMES if source == "demo" else _thirds(tmp_path / "thirds.jsonl")
    policy = tmp_path / "policy.json"
    calibrated = _json(
        capsys, ["calibrate", str(outcomes), "--method", "legacy", "--out", str(policy)]
    )
    url = f"sqlite:///{tmp_path / 'policy.sqlite'}"
    on_sqlite = _json(capsys, ["replay", str(outcomes), "--policy", str(policy), "--ledger", url])
    in_memory = _json(capsys, ["replay", str(outcomes), "--policy", str(policy)])
    spent = _ledger_totals(url)["total"].cost_usd
    assert spent is not None and spent != round(spent, 6)  # 6 decimals would not show it
    for report in (calibrated, on_sqlite, in_memory):
        assert Decimal(repr(report["test"]["cost_usd"])) == spent
    for report in (on_sqlite, in_memory):
        assert Decimal(repr(report["ledger"]["total"]["cost_usd"])) == spent

    model = calibrated["baseline"]["model"]
    calibrated_policy = load_policy(policy)
    alone = TaskPolicy(tiers=(model,), rules=())
    save_policy(
        Policy(dict.fromkeys(calibrated_policy.tasks, alone), calibrated_policy.meta), policy
    )
    baseline_url = f"sqlite:///{tmp_path / 'baseline.sqlite'}"
    assert main(["replay", str(outcomes), "--policy", str(policy), "--ledger", baseline_url]) == 0
    capsys.readouterr()
    baseline = _ledger_totals(baseline_url)["total"]
    assert baseline.calls == calibrated["test_size"]
    assert Decimal(repr(calibrated["baseline"]["cost_usd"])) == baseline.cost_usd
