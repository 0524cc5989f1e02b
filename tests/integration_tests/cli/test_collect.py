"""``costrouter collect``'s --out: never one of the run's own input files."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.integration_tests.collect.support import _api_key, write_config, write_lines

__all__ = ["_api_key"]


@pytest.mark.parametrize("input_name", ["PROMPTS", "--config"])
def test_collect_refuses_to_append_outcomes_to_its_own_input(
    tmp_path: Path,
    openai_server: LocalOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    input_name: str,
) -> None:
    """``--out`` naming the eval set appended each outcome line to it (the next run read
    them as questions); naming the config appended JSON to the TOML."""
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    prompts = write_lines(tmp_path / "prompts.jsonl", sum_prompts(2, seed=1, references=True))
    config = write_config(tmp_path, openai_server)
    out = prompts if input_name == "PROMPTS" else config
    before = out.read_bytes()
    args = ["collect", str(prompts), "--config", str(config), "--task", "math"]
    args += ["--models", "weak,strong", "--score", "numeric", "--out", str(out)]
    args += ["--ledger", f"sqlite:///{tmp_path / 'ledger.sqlite'}"]
    assert main(args) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"costrouter: error: --out {out}: is the {input_name} file; give another"]
    assert out.read_bytes() == before
    assert openai_server.request_count() == 0
