"""The loop on one's own traffic: collect, calibrate, route with shadow, drift, recalibrate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.cli import main
from langchain_costrouter.shadow.config import ShadowConfig, ShadowTask
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.integration_tests.collect.support import _api_key, write_config, write_lines

__all__ = ["_api_key"]


def serve_traffic(router: RoutedChatModel, count: int, seed: int) -> None:
    for line in sum_prompts(count, seed=seed):
        router.invoke(line["messages"][0]["content"], task="math")
    assert router.shadow_evaluator.drain(60)


def drift(capsys: pytest.CaptureFixture[str], ledger: str, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["drift", "--ledger", ledger, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_drift_exits_nonzero_once_the_cheap_model_degrades(
    tmp_path: Path, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world = SumsResponder(strong="strong", weak="weak", judge="judge")
    openai_server.set_responder(world)
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    config = write_config(tmp_path, openai_server, router=f'ledger = "{ledger}"')
    prompts = write_lines(tmp_path / "prompts.jsonl", sum_prompts(80, seed=1))
    outcomes, policy = tmp_path / "outcomes.jsonl", tmp_path / "policy.json"
    collect = ["collect", str(prompts), "--config", str(config), "--task", "math"]
    collect += ["--models", "weak,strong", "--score", "judge:judge", "--out", str(outcomes)]
    assert main(collect) == 0
    # 80 collected questions are below the guarded default's 100-row minimum (it would
    # keep the strong model, and nothing could drift): this loop runs the legacy search.
    calibrate = ["calibrate", str(outcomes), "--out", str(policy), "--method", "legacy"]
    assert main(calibrate) == 0
    capsys.readouterr()

    routed_config = tmp_path / "routed.toml"
    routed_config.write_text(
        config.read_text().replace("[router]\n", '[router]\npolicy = "policy.json"\n')
    )
    shadow = ShadowConfig(
        tasks={"math": ShadowTask(1.0, store_prompts=True)}, score="judge:judge", policy=policy
    )
    router = RoutedChatModel.from_config(routed_config, shadow=shadow)
    serve_traffic(router, 40, seed=2)
    code, healthy = drift(capsys, ledger)
    (row,) = healthy["tasks"]
    assert code == 0 and row["status"] == "ok" and row["samples"] == 40
    assert row["promise"]["policy"] == "policy"

    world.degrade()
    serve_traffic(router, 60, seed=3)
    code, degraded = drift(capsys, ledger)
    (row,) = degraded["tasks"]
    assert code == 1 and row["status"] == "below"
    assert row["interval"][1] < row["promise"]["low"]
    assert main(["drift", "--ledger", ledger]) == 1
    table = capsys.readouterr().out
    assert "below" in table and "math" in table

    retrained = tmp_path / "policy2.json"
    args = ["calibrate", "--from-ledger", ledger, "--task", "math", "--out", str(retrained)]
    assert main(args) == 0
    assert "served by the reference model itself" in capsys.readouterr().err
    assert json.loads(retrained.read_text())["tasks"]["math"]["tiers"][-1] == "strong"


def test_calibrate_from_ledger_needs_usable_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    (tmp_path / "empty.sqlite").touch()
    assert main(["calibrate", "--from-ledger", ledger, "--task", "math"]) == 2
    assert "no usable shadow outcomes of task 'math'" in capsys.readouterr().err
    assert main(["calibrate", "--from-ledger", ledger]) == 2
    assert "--from-ledger needs --task TASK" in capsys.readouterr().err
    assert main(["calibrate"]) == 2
    assert "give an OUTCOMES file, or --from-ledger URL --task TASK" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path / "o.jsonl"), "--since", "7d"]) == 2
    assert "--task and --since go with --from-ledger" in capsys.readouterr().err
