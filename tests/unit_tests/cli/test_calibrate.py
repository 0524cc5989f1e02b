"""``costrouter calibrate``: the JSON contract, the router path, and bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.calibration import load_policy
from langchain_costrouter.calibration.evaluate import (
    OutcomeMatrix,
    simulate_policy,
    single_model_figures,
    split_records,
)
from langchain_costrouter.calibration.run import outcome_cost
from langchain_costrouter.cli import main
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord, read_outcomes, write_outcomes
from tests.unit_tests.cli.outcome_files import (
    CHEAP,
    DEAR,
    MIDDLE,
    synthetic_records,
    write_file,
    write_lines,
)

CONTRACT_KEYS = {
    "train_size", "test_size", "policy", "test", "baseline", "oracle", "savings_pct",
}  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_file(tmp_path_factory.mktemp("outcomes") / "evals.jsonl")


def calibrate_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["calibrate", *args, "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)  # exactly one JSON object: anything else on stdout fails here
    assert isinstance(report, dict)
    return report


def test_json_has_the_contract_fields(outcomes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--train-fraction", "0.5", "--seed", "0", "--method", "legacy")
    report = calibrate_json(capsys, str(outcomes), *args)
    assert set(report) == CONTRACT_KEYS
    assert (report["train_size"], report["test_size"]) == (80, 80)
    test, baseline, oracle = report["test"], report["baseline"], report["oracle"]
    assert set(test) == {"quality", "cost_usd", "calls_by_model"}
    assert set(baseline) == {"model", "quality", "cost_usd"}
    assert set(oracle) == {"quality", "cost_usd"}
    assert baseline["model"] == DEAR
    assert oracle["quality"] >= test["quality"] >= baseline["quality"] - 0.05
    assert set(test["calls_by_model"]) <= {CHEAP, MIDDLE, DEAR}
    expected = round(100 * (1 - test["cost_usd"] / baseline["cost_usd"]), 2)
    assert report["savings_pct"] == pytest.approx(expected, abs=0.01)
    assert report["savings_pct"] > 30


def test_router_figures_match_the_pure_simulation(
    outcomes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ledger of the real router agrees with an independent replay of the policy."""
    policy_path = tmp_path / "policy.json"
    report = calibrate_json(capsys, str(outcomes), "--out", str(policy_path))
    _, test = split_records(read_outcomes(outcomes), 0.5, seed=0)
    simulated = simulate_policy(load_policy(policy_path), test)
    assert report["test"]["quality"] == pytest.approx(simulated.quality, abs=1e-6)
    assert report["test"]["cost_usd"] == pytest.approx(simulated.cost_usd, abs=1e-6)
    assert report["test"]["calls_by_model"] == dict(sorted(simulated.calls_by_model.items()))
    assert report["policy"]["path"] == str(policy_path)


def test_target_quality_zero_picks_the_cheapest_model(
    outcomes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = calibrate_json(capsys, str(outcomes), "--target-quality", "0", "--method", "legacy")
    _, test = split_records(read_outcomes(outcomes), 0.5, seed=0)
    cheap = single_model_figures(OutcomeMatrix.of(test))[CHEAP]
    assert report["test"]["calls_by_model"] == {CHEAP: 80}
    assert report["test"]["cost_usd"] == pytest.approx(cheap.cost_usd)
    assert report["test"]["quality"] == pytest.approx(cheap.quality, abs=1e-6)


def _every_tenth_question_unanswerable(path: Path) -> Path:
    """Every model wrong on every tenth question (a fifth of task 'sentiment''s): no
    cascade's quality gets past 0.8 there."""
    records = []
    for index, record in enumerate(synthetic_records(160)):
        if index % 10 == 0:
            wrong = {m: ModelOutcome(0.0, "?", o.cost_usd) for m, o in record.outcomes.items()}
            record = OutcomeRecord(record.id, record.task, record.messages, wrong)
        records.append(record)
    write_outcomes(path, records)
    return path


@pytest.mark.parametrize("method", ["legacy", "guarded"])
def test_a_target_no_cascade_reaches_is_an_error_saying_what_to_do(
    method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was met by nothing and said so nowhere: legacy wrote "target_met": false only in
    the JSON, guarded quietly promised the baseline's lower quality, and both exited 0."""
    path = _every_tenth_question_unanswerable(tmp_path / "hard.jsonl")
    policy_path = tmp_path / "policy.json"
    args = ["calibrate", str(path), "--target-quality", "0.99", "--method", method]
    assert main([*args, "--out", str(policy_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "task 'sentiment'" in captured.err and "0.9900" in captured.err
    reachable = re.search(r"lower --target-quality to at most (0\.\d{4})", captured.err)
    assert reachable is not None and 0.5 < float(reachable.group(1)) < 0.9
    assert not policy_path.exists()


def test_table_output_names_the_baseline_and_saving(
    outcomes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate", str(outcomes)]) == 0
    out = capsys.readouterr().out
    assert f"baseline {DEAR}" in out
    assert "oracle (per query)" in out
    assert "savings vs baseline:" in out


def test_a_bad_line_is_reported_with_its_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.loads((write_file(tmp_path / "good.jsonl", size=4)).read_text().splitlines()[0])
    bad = write_lines(tmp_path / "bad.jsonl", [good, {**good, "id": "x2"}, "{not json"])
    assert main(["calibrate", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad}:3: not valid JSON" in captured.err
    assert "Traceback" not in captured.err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(tmp_path / "missing.jsonl")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_a_bad_train_fraction_exits_2(outcomes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(outcomes), "--train-fraction", "1.5"]) == 2
    assert "train fraction must be in (0, 1)" in capsys.readouterr().err


def test_a_task_too_small_to_split_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path / "tiny.jsonl", size=3)  # the second task has one record
    assert main(["calibrate", str(path)]) == 2
    assert "task 'triage' has 1 record (1 prompt)" in capsys.readouterr().err


def test_the_installed_costrouter_script(outcomes: Path, tmp_path: Path) -> None:
    script = shutil.which("costrouter")
    assert script is not None, "the costrouter console script is not installed"
    policy_path = tmp_path / "policy.json"
    done = subprocess.run(
        [script, "calibrate", str(outcomes), "--seed", "0", "--out", str(policy_path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == CONTRACT_KEYS
    assert load_policy(policy_path).tasks.keys() == {"sentiment", "triage"}


def test_the_same_seed_writes_the_same_policy_in_every_process(tmp_path: Path) -> None:
    """Python salts string hashes per process: a scorer whose features follow set order
    summed them in another order each run, so one seed gave thresholds that differed in
    the last digits and a policy whose digest (the routes' version) changed every run."""
    script = shutil.which("costrouter")
    assert script is not None, "the costrouter console script is not installed"
    demo = resources.files("langchain_costrouter") / "data" / "demo_outcomes.jsonl"
    policies = []
    for salt in ("1", "2", "3"):
        policy_path = tmp_path / f"policy-{salt}.json"
        command = [script, "calibrate", str(demo), "--method", "legacy", "--out", str(policy_path)]
        environment = {**os.environ, "PYTHONHASHSEED": salt}
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=120, env=environment
        )
        assert done.returncode == 0, done.stderr
        policies.append(policy_path.read_bytes())
    assert policies[0] == policies[1] == policies[2]


def test_a_file_with_token_counts_only_is_priced_by_the_price_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        OutcomeRecord(
            id=str(index),
            task="summarization",
            messages=({"role": "user", "content": f"Summarise document {index}"},),
            outcomes={
                "gpt-4o-mini": ModelOutcome(float(index % 3 > 0), "short", None, 900, 60),
                "gpt-4o": ModelOutcome(1.0, "a summary", None, 900, 80),
            },
        )
        for index in range(30)
    ]
    write_outcomes(tmp_path / "tokens.jsonl", records)
    report = calibrate_json(capsys, str(tmp_path / "tokens.jsonl"))
    _, test = split_records(records, 0.5, seed=0)
    gpt4o = single_model_figures(OutcomeMatrix.of(test, outcome_cost()))["gpt-4o"]
    assert report["baseline"] == {
        "model": "gpt-4o",
        "quality": 1.0,
        "cost_usd": pytest.approx(gpt4o.cost_usd),
    }
    assert 0 < report["test"]["cost_usd"] <= gpt4o.cost_usd * 1.2
    assert report["test"]["quality"] <= report["oracle"]["quality"]


def test_guarded_method_prints_and_stores_its_promise(
    capsys: pytest.CaptureFixture[str], outcomes: Path, tmp_path: Path
) -> None:
    policy_path = tmp_path / "policy.json"
    args = ["--method", "guarded", "--max-quality-loss", "1", "--confidence", "0.9"]
    report = calibrate_json(capsys, str(outcomes), *args, "--out", str(policy_path))
    tasks = report["policy"]["tasks"]
    for spec in tasks.values():
        assert spec["train"]["method"] == "guarded"
        assert spec["train"]["allowed_loss"] == 0.01
        assert spec["train"]["confidence"] == 0.9
    stored = load_policy(policy_path)
    assert {t.train["method"] for t in stored.tasks.values()} == {"guarded"}
    assert main(["calibrate", str(outcomes), *args]) == 0
    printed = capsys.readouterr().out
    assert "promise: loss <=" in printed
    for spec in tasks.values():
        low, high = spec["train"]["quality_interval"]
        assert (
            f"expected quality {spec['train']['expected_quality']:.4f} [{low:.4f}, {high:.4f}]"
            in printed
        )


def test_confidence_out_of_range_is_a_usage_error(outcomes: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["calibrate", str(outcomes), "--confidence", "1.5"])
    assert raised.value.code == 2


def test_repeated_prompts_are_charged_their_own_costs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each prompt is asked twice; its second record's big answer costs 5x and scores 0.
    records = [
        OutcomeRecord(
            id=f"r{n}", task="t", messages=({"role": "user", "content": f"question {n // 2}"},),
            outcomes={
                "big": ModelOutcome(float(n % 2 == 0), "A", 1.0 if n % 2 == 0 else 5.0),
                "small": ModelOutcome(0.0, "B", 0.01),
            },
        )
        for n in range(40)
    ]  # fmt: skip
    path = tmp_path / "repeated.jsonl"
    write_outcomes(path, records)
    report = calibrate_json(capsys, str(path), "--seed", "2")
    assert report["policy"]["tasks"]["t"]["tiers"] == ["big"]  # too few rows: the baseline
    test, baseline = report["test"], report["baseline"]
    assert (test["cost_usd"], test["quality"]) == (baseline["cost_usd"], baseline["quality"])
    assert report["savings_pct"] == 0.0


def test_an_outcome_without_a_cost_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = read_outcomes(write_file(tmp_path / "evals.jsonl", size=4))[0].to_json()
    bare = {**good, "id": "x2", "outcomes": {m: {"score": 1.0} for m in good["outcomes"]}}
    path = write_lines(tmp_path / "bare.jsonl", [good, bare])
    assert main(["calibrate", str(path), "--json"]) == 2
    assert f"{path}:2: record 'x2': model " in capsys.readouterr().err
