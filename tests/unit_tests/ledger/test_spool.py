"""The journal format and the spool directory of a ledger (real files, SQLite)."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import SQLLedger, spool
from langchain_costrouter.ledger import _journal_lines as journal_lines
from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.metadata import CostRouterMetadata
from tests.unit_tests.ledger.support import sample_rows

RECORD: CostRouterMetadata = {
    "task": "chat",
    "attempts": [
        {"model": "small", "cost_usd": 0.1, "accepted": False, "tier": 0, "usage": {}},
        {"model": "big", "cost_usd": 0.30000000000000004, "accepted": True, "tier": 1},
    ],
    "escalated": True,
}


def test_rows_and_calls_read_back_as_written() -> None:
    call = PendingCall(RECORD, "run-1", datetime(2026, 3, 1, tzinfo=UTC), "ref")
    lines = journal_lines.encode([*sample_rows(), call]).splitlines(keepends=True)
    decoded = [row for line in lines for row in journal_lines.decode(line)]
    assert decoded == [*sample_rows(), *call.rows()]  # Decimal money and UTC times exact


def test_a_record_json_cannot_hold_is_journaled_as_its_rows() -> None:
    record: CostRouterMetadata = {**RECORD, "task": "chat", "extra": {1, 2}}  # type: ignore[typeddict-unknown-key]
    call = PendingCall(record, "run-2", datetime(2026, 3, 1, tzinfo=UTC), None)
    (line,) = journal_lines.encode([call]).splitlines()
    assert journal_lines.decode(line) == call.rows()


def test_the_spool_keeps_no_password(tmp_path: Path) -> None:
    with pytest.warns(BackendUnavailableWarning):
        ledger = SQLLedger("postgresql://app:s3cret@127.0.0.1:1/costs", spool_root=tmp_path)
    ledger.add(sample_rows())
    with pytest.warns(BackendUnavailableWarning, match="5 rows wait"):
        ledger.close()
    (segment,) = spool.segments(ledger.spool_dir)
    assert b"app:***@127.0.0.1:1/costs" in segment.read_bytes()
    assert all(b"s3cret" not in path.read_bytes() for path in tmp_path.rglob("*.*"))
    assert ledger.spool_dir == spool.spool_dir(
        "postgresql+psycopg://app:***@127.0.0.1:1/costs", "costrouter_", tmp_path
    )


def test_a_call_is_journaled_owner_only_before_add_returns(tmp_path: Path) -> None:
    with SQLLedger(f"sqlite:///{tmp_path / 'l.db'}", spool_root=tmp_path / "spool") as ledger:
        ledger.add(sample_rows())
        segment = spool.segments(ledger.spool_dir)[0]
        mode = stat.S_IMODE(os.stat(ledger.spool_dir).st_mode)
        assert (mode, stat.S_IMODE(segment.stat().st_mode)) == (0o700, 0o600)
        assert spool.count_rows(segment) == 5  # journaled before add returned
    assert not ledger.spool_dir.exists()  # all written: nothing left behind


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "seg.jsonl"
    whole = journal_lines.encode(sample_rows()[:2])
    path.write_bytes(journal_lines.header("sqlite:///x", "p_") + whole + whole[:30])
    calls, unreadable = spool.read_segment(path)
    assert ([row for rows in calls for row in rows], unreadable) == (sample_rows()[:2], 0)


def test_report_says_when_rows_wait_in_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(spool.SPOOL_DIR_ENV, str(tmp_path / "spool"))
    url = f"sqlite:///{tmp_path / 'l.db'}"
    writer = SQLLedger(url, flush_interval=3600)

    def refuse(rows: object) -> None:
        raise OSError("disk I/O error")

    with monkeypatch.context() as patched:
        patched.setattr(writer._writer, "_write", refuse)  # this process's writes fail
        writer.add(sample_rows())
        with pytest.warns(BackendUnavailableWarning, match="5 rows wait in the spool"):
            assert writer.flush() == 5
        assert main(["report", "--ledger", url]) == 0
    assert "note: 5 rows of this ledger wait in its spool" in capsys.readouterr().err
    assert writer.pending_rows() == 0  # the database takes them: written, nothing pending
    writer.close()
    assert main(["report", "--ledger", url]) == 0
    assert "wait in its spool" not in capsys.readouterr().err


def test_rows_journaled_by_another_version_read_back() -> None:
    (line,) = journal_lines.encode(sample_rows()[:1]).splitlines()
    stored = json.loads(line)
    stored["rows"][0]["column_of_a_newer_version"] = 1
    del stored["rows"][0]["usage_estimated"]  # a field an older version did not have
    assert journal_lines.decode(json.dumps(stored).encode()) == sample_rows()[:1]


def test_a_record_holding_a_datetime_is_journaled_as_its_rows() -> None:
    record: CostRouterMetadata = {**RECORD, "task": "chat", "extra": datetime(2026, 1, 1)}  # type: ignore[typeddict-unknown-key]
    call = PendingCall(record, "run-3", datetime(2026, 3, 1, tzinfo=UTC), None)
    (line,) = journal_lines.encode([call]).splitlines()
    assert b'"rows"' in line and b'"call"' not in line
    assert journal_lines.decode(line) == call.rows()


def test_a_segment_of_the_format_before_the_model_ids_replays(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    ledger = SQLLedger(url, spool_root=tmp_path / "spool")
    ledger.close()
    directory = ledger.spool_dir
    call = PendingCall(RECORD, "run-old", datetime(2026, 3, 1, tzinfo=UTC), "ref")
    lines = []
    for line in journal_lines.encode([sample_rows()[0], call]).splitlines():
        value = json.loads(line)
        for row in value.get("rows", ()):
            assert (row.pop("request_model"), row.pop("response_model")) == (None, None)
        lines.append(json.dumps(value).encode() + b"\n")
    assert b"request_model" not in b"".join(lines)  # as the journal was written before
    directory.mkdir(parents=True)
    segment = spool.new_segment_path(directory, spool.SPOOLED)  # its process is gone
    segment.write_bytes(journal_lines.header(ledger.url, "costrouter_") + b"".join(lines))

    with SQLLedger(url, spool_root=tmp_path / "spool") as reopened:
        reopened.flush()
        replayed = reopened.rows()
    assert [(row.run_id, row.attempt, row.model) for row in replayed] == [
        ("r1", 0, "small"),
        ("run-old", 0, "small"),
        ("run-old", 1, "big"),
    ]
    assert [(row.request_model, row.response_model) for row in replayed] == [(None, None)] * 3
    assert not segment.exists()
