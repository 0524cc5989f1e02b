"""Ctrl-C during a long ``costrouter`` run: exit 130 with one line, never a traceback.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group (calibrate's
forked workers too), so each test starts the real command in a process group of its own
and interrupts the group while the command is working.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.integration_tests.collect.support import _api_key, write_config, write_lines
from tests.unit_tests.cli.outcome_files import write_file

__all__ = ["_api_key"]

INTERRUPTED = 130
"""The shell's status of a command ended by SIGINT (128 + 2)."""


def start(args: list[str], stderr: Path) -> subprocess.Popen[bytes]:
    """``python -m langchain_costrouter args`` in its own process group, SIGINT not ignored,
    its stderr written to the file ``stderr``."""

    def own_group() -> None:
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background parent may ignore it

    with stderr.open("wb") as errors:
        return subprocess.Popen(
            [sys.executable, "-m", "langchain_costrouter", *args],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            preexec_fn=own_group,
        )


def interrupt_when(process: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """Ctrl-C the command's group once ``ready()``, and wait for the command to end."""
    deadline = time.monotonic() + 60
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the command ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=120)


def test_ctrl_c_during_collect_keeps_the_finished_lines_and_says_how_to_go_on(
    tmp_path: Path, openai_server: LocalOpenAIServer
) -> None:
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    openai_server.set_latency(0.2)
    prompts = write_lines(tmp_path / "prompts.jsonl", sum_prompts(30, seed=1, references=True))
    out, ledger = tmp_path / "outcomes.jsonl", f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    args = [
        "collect", str(prompts), "--config", str(write_config(tmp_path, openai_server)),
        "--task", "math", "--models", "weak,strong", "--score", "numeric", "--out", str(out),
        "--ledger", ledger, "--concurrency", "2",
    ]  # fmt: skip
    process = start(args, tmp_path / "stderr")
    interrupt_when(process, lambda: openai_server.request_count() >= 5)
    err = (tmp_path / "stderr").read_text()
    assert process.returncode == INTERRUPTED, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        "costrouter: interrupted; the questions finished are kept in --out: "
        "run the same command again to continue"
    )
    finished = [json.loads(line) for line in out.read_text().splitlines()]
    assert 1 <= len(finished) < 30
    with open_ledger(ledger) as rows:  # the calls cut short are billed too: one row each
        # A call the interrupt cut while its request was on the way is billed on its prompt
        # (the provider may have it) before the server counts it: at most --concurrency.
        served = openai_server.request_count()
        assert served <= len(rows.rows()) <= served + 2
    openai_server.set_latency(0)
    assert main(args) == 0  # the re-run answers the rest
    assert len(out.read_text().splitlines()) == 30


def test_ctrl_c_during_calibrate_writes_no_policy(tmp_path: Path) -> None:
    outcomes = write_file(tmp_path / "outcomes.jsonl", size=24_000)  # forks fit workers
    policy = tmp_path / "policy.json"
    stderr = tmp_path / "stderr"
    process = start(["calibrate", str(outcomes), "--out", str(policy), "--progress"], stderr)
    interrupt_when(process, lambda: stderr.stat().st_size > 0)  # progress: under way
    err = stderr.read_text()
    assert process.returncode == INTERRUPTED, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "costrouter: interrupted", err
    assert not policy.exists()
