"""Every subcommand's known errors: one line on stderr, exit status 2; --debug; --version.

Each case below printed a traceback (or succeeded silently) before the CLI translated
known errors; the test asserts the one line and that no traceback reached the user.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_costrouter.cli import EXIT_ERROR, EXIT_INTERRUPTED, main
from langchain_costrouter.cli.collect import EXIT_INCOMPLETE
from langchain_costrouter.cli.drift import EXIT_DRIFT
from tests.unit_tests.cli.outcome_files import write_file

EXAMPLE = Path(__file__).parents[3] / "examples" / "costrouter.toml"


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``costrouter argv``; assert exit 2 and a single error line, and return it."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("costrouter: error: ")
    return lines[0]


def test_routes_on_a_config_with_a_typo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("timeout = 60", "timout = 60"))
    line = one_error_line(capsys, ["routes", str(bad)])
    assert f"file {bad}, key 'providers.openai_compatible.timout'" in line
    assert "did you mean `timeout`?" in line


def test_routes_on_an_unrouted_default_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('default_task = "chat"', 'default_task = "nope"'))
    line = one_error_line(capsys, ["routes", str(bad)])
    assert "key 'router.default_task': 'nope' has no route" in line


def test_routes_opens_none_of_the_files_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, cache = tmp_path / "new" / "ledger.sqlite3", tmp_path / "cache"
    budgets = tmp_path / "budgets.sqlite3"
    stores = (
        f'[router]\nledger = "sqlite:///{ledger}"\ncache = "diskcache://{cache}"\n'
        f'budget_store = "sqlite:///{budgets}"'
    )
    config = tmp_path / "stores.toml"
    text = EXAMPLE.read_text().replace("[router]", stores, 1)
    config.write_text(text + '\n[[budgets]]\nname = "daily"\nlimit_usd = 5\nperiod = "day"\n')
    assert main(["routes", str(config)]) == 0
    assert "tier 0" in capsys.readouterr().out
    assert not ledger.exists() and not ledger.parent.exists() and not cache.exists()
    assert not budgets.exists()


def test_debug_prints_the_traceback_before_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--debug", "routes", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1].startswith("costrouter: error: file ")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    version = importlib.metadata.version("langchain-costrouter")
    assert capsys.readouterr().out == f"costrouter {version}\n"


def test_report_on_an_unknown_ledger_url(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, ["report", "--ledger", "bogus://user:secret@x/db"])
    assert "cannot open the ledger URL 'bogus://user:***@x/db': unknown database" in line


def test_report_on_a_file_that_is_not_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, but the user's notes\n")
    line = one_error_line(capsys, ["report", "--ledger", f"sqlite:///{path}"])
    assert f"the ledger file {path} is not a SQLite database" in line
    assert path.read_text() == "not a database, but the user's notes\n"


def test_calibrate_on_a_binary_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_file(tmp_path / "good.jsonl", size=4).read_bytes().splitlines()[0]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good + b"\n" + b'{"id": "caf\xe9"}\n')
    line = one_error_line(capsys, ["calibrate", str(path)])
    assert f"{path}:2: not UTF-8 text (byte 0xe9 at column 12)" in line


def test_replay_with_a_policy_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = write_file(tmp_path / "good.jsonl", size=8)
    policy = tmp_path / "policy.json"
    policy.write_bytes(b'{\n"kind": "caf\xe9"}\n')
    line = one_error_line(capsys, ["replay", str(outcomes), "--policy", str(policy)])
    assert f"file {policy}: line 2 is not UTF-8 text" in line


@pytest.mark.parametrize("out", ["no/such/dir/p.json", "a-file/p.json", "."])
def test_calibrate_checks_out_before_calibrating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    (tmp_path / "a-file").write_text("")
    missing_outcomes = tmp_path / "not-there.jsonl"  # read only after --out is checked
    line = one_error_line(
        capsys, ["calibrate", str(missing_outcomes), "--out", str(tmp_path / out)]
    )
    assert "--out" in line and "not-there" not in line
    assert not (tmp_path / "no").exists()


def test_demo_checks_dir_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("")
    line = one_error_line(capsys, ["demo", "--dir", str(tmp_path / "a-file" / "demo")])
    assert "--dir" in line and "is not a directory" in line


def test_help_imports_no_subcommand_module() -> None:
    code = (
        "import sys\n"
        "from langchain_costrouter.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('langchain_costrouter.cli.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "calibrate" in done.stdout  # the help lists the subcommand...
    assert done.stdout.splitlines()[-1] == "[]"  # ...without importing its module


def test_the_console_entry_point_prints_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("[routes]\nchat", "[routes]\ncaht = 3\nchat"))
    done = subprocess.run(
        [sys.executable, "-m", "langchain_costrouter", "routes", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"costrouter: error: file {bad}, key 'routes.caht': expected a table, got 3"
    ]


def test_report_on_a_ledger_url_whose_port_is_not_a_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SQLAlchemy's ValueError (an unexpanded ${PGPORT}) is the URL's error, on one line."""
    argv = ["report", "--ledger", "postgresql://app:s3cretpw@db:${PGPORT}/app"]
    line = one_error_line(capsys, argv)
    assert "--ledger" in line and "${PGPORT}" in line and "s3cretpw" not in line


def test_help_says_what_every_exit_status_means(capsys: pytest.CaptureFixture[str]) -> None:
    """A script branches on the status; the help said nothing of 1, 2 or 130."""
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    finding = f"{EXIT_DRIFT} a finding (drift: a task below its promise; collect:"
    assert finding in text and EXIT_DRIFT == EXIT_INCOMPLETE
    assert f"{EXIT_ERROR} bad input or a failure" in text
    assert f"{EXIT_INTERRUPTED} interrupted (Ctrl-C)" in text


@pytest.mark.parametrize("spelling", ["same path", "relative path", "symlink"])
def test_calibrate_refuses_to_write_its_policy_over_the_outcomes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spelling: str,
) -> None:
    """``--out`` naming the outcomes file replaced the recorded outcomes (paid for) with the
    policy, then failed with a traceback when the check re-read the file."""
    outcomes = write_file(tmp_path / "outcomes.jsonl", size=160)
    recorded = outcomes.read_bytes()
    monkeypatch.chdir(tmp_path)
    out = {"same path": str(outcomes), "relative path": "./outcomes.jsonl", "symlink": "link"}
    (tmp_path / "link").symlink_to(outcomes)
    line = one_error_line(capsys, ["calibrate", "outcomes.jsonl", "--out", out[spelling]])
    assert f"--out {Path(out[spelling])}: is the OUTCOMES file; give another" in line
    assert outcomes.read_bytes() == recorded
