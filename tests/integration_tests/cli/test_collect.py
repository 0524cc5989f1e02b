"""``costrouter collect``'s --out: never one of the run's own input files."""

from __future__ import annotations

import stat
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


def test_collect_out_is_private_even_when_it_existed_readable(
    tmp_path: Path, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --out file made beforehand (``touch``: 0644 under umask 022) kept its mode while
    every prompt and answer was appended to it, readable by every user of the machine."""
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    prompts = write_lines(tmp_path / "prompts.jsonl", sum_prompts(2, seed=1, references=True))
    out = tmp_path / "outcomes.jsonl"
    out.touch()
    out.chmod(0o644)
    args = ["collect", str(prompts), "--config", str(write_config(tmp_path, openai_server))]
    args += ["--task", "math", "--models", "weak,strong", "--score", "numeric", "--out", str(out)]
    args += ["--ledger", f"sqlite:///{tmp_path / 'ledger.sqlite'}"]
    assert main(args) == 0
    capsys.readouterr()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(out.read_text().splitlines()) == 2
