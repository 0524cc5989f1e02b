"""``costrouter drift``: which promise each task is held to, and the exit code it gives."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.shadow.promise import policy_promises
from langchain_costrouter.shadow.rows import Promise
from langchain_costrouter.shadow.store import ShadowStore
from tests.unit_tests.shadow.test_drift import distinct
from tests.unit_tests.shadow.test_promise_outcomes import GUARDED_TRAIN, one_task_policy
from tests.unit_tests.shadow.test_store import sample


def ledger_of(tmp_path: Path, promise: Promise, wrong: int, size: int = 2000) -> str:
    """A database of ``size`` shadow samples served under ``promise``'s policy, ``wrong`` 0."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    store = ShadowStore(url)
    store.record_promises([promise])
    now = datetime.now(UTC)
    for index in range(size):
        row = distinct(sample(f"r{index}", score=0.0 if index < wrong else 1.0), index)
        store.add_sample(replace(row, time=now, policy=promise.policy))
    store.close()
    return url


def drift_json(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["drift", "--ledger", url, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_guarded_policy_inside_its_interval_is_ok_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (promise,) = policy_promises(one_task_policy(tmp_path, GUARDED_TRAIN))
    url = ledger_of(tmp_path, promise, wrong=100)  # 0.950 [0.940, 0.959]
    code, report = drift_json(capsys, url)
    (row,) = report["tasks"]
    assert (code, row["status"]) == (0, "ok")
    assert row["promise"] == {
        "policy": "policy", "quality": 0.950926, "low": 0.940909, "high": 0.96383,
        "source": "guarded", "compared_with": "guarded lower bound",
    }  # fmt: skip
    assert main(["drift", "--ledger", url]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert "0.951  >= 0.941  guarded lower bound  ok" in line


def test_a_guarded_policy_below_its_lower_bound_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (promise,) = policy_promises(one_task_policy(tmp_path, GUARDED_TRAIN))
    code, report = drift_json(capsys, ledger_of(tmp_path, promise, wrong=160))  # 0.920
    (row,) = report["tasks"]
    assert (code, row["status"]) == (1, "below")
    assert row["interval"][1] < row["promise"]["low"] == 0.940909


def test_a_task_held_to_its_train_quality_says_how_to_hold_it_to_the_promise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # what an older version recorded for a guarded policy: the in-sample train figure
    stale = Promise("policy-abc", "policy", "math", 0.961111, 0.961111, None, "train")
    url = ledger_of(tmp_path, stale, wrong=10, size=200)  # 0.950 [0.910, 0.972]
    assert main(["drift", "--ledger", url]) == 0
    out = capsys.readouterr().out
    assert "train quality" in out
    assert "restart the router on the policy to record it again, or pass --policy FILE" in out


def test_a_ledger_without_shadow_samples_is_said_so_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """drift created the shadow tables (three of them) in the database it only reads."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    open_ledger(url).close()
    engine = sa.create_engine(url)
    before = set(sa.inspect(engine).get_table_names())
    assert main(["drift", "--ledger", url]) == 2
    err = capsys.readouterr().err
    assert "no table costrouter_shadow_samples" in err
    assert set(sa.inspect(engine).get_table_names()) == before
    engine.dispose()


def test_the_prompts_counted_are_shown_and_min_samples_says_it_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 samples of 60 prompts (stored without their prompts, with their digests):
    --min-samples 61 says too few, and both outputs show the 60 prompts."""
    promise = Promise("policy-abc", "policy", "math", 0.9, 0.8, None, "guarantee")
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    store = ShadowStore(url)
    now = datetime.now(UTC)
    for index in range(300):
        row = replace(sample(f"r{index}"), time=now, messages=None)
        store.add_sample(replace(row, prompt_digest=f"v2:{index % 60:064x}"))
    store.record_promises([promise])
    store.close()
    code = main(["drift", "--ledger", url, "--json", "--min-samples", "61"])
    (row,) = json.loads(capsys.readouterr().out)["tasks"]
    assert (code, row["samples"], row["prompts"], row["status"]) == (0, 300, 60, "too few samples")
    assert main(["drift", "--ledger", url]) == 0
    header, line = capsys.readouterr().out.splitlines()[1:3]
    assert header.split()[2:4] == ["samples", "prompts"]
    assert line.split()[2:4] == ["300", "60"]
    with pytest.raises(SystemExit):
        main(["drift", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "fewer distinct prompts say nothing" in help_text
