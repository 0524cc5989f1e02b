"""The shadow tables: their own migrations, samples read back exactly, retention."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.shadow.rows import Promise, SampleRow
from langchain_costrouter.shadow.store import MIGRATIONS, ShadowStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def sample(run_id: str, *, days_ago: float = 0, score: float | None = 1.0) -> SampleRow:
    return SampleRow(
        run_id=run_id,
        time=NOW - timedelta(days=days_ago),
        task="math",
        namespace="default",
        policy="policy-abc",
        served_by="small",
        served_tier=0,
        reference_model="large",
        scorer="judge:judge",
        score=score,
        served_cost=Decimal("0.000012345678"),
        reference_cost=Decimal("0.0001"),
        judge_cost=Decimal("0.00002"),
        messages=({"role": "user", "content": "What is 1 + 1?"},),
        served_text="2",
        reference_text="2",
    )


def test_samples_and_promises_round_trip_next_to_the_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    open_ledger(url).close()  # the ledger's own tables first: both schemas live side by side
    store = ShadowStore(url)
    store.add_sample(sample("r1"))
    store.add_sample(sample("r1"))  # recorded twice, kept once
    store.add_sample(sample("r2", score=None))
    rows = store.read_samples()
    assert [r.run_id for r in rows] == ["r1", "r2"]
    assert rows[0] == sample("r1")  # money exact to the picodollar, time in UTC
    promise = Promise("policy-abc", "policy", "math", 0.9, 0.85, 0.95, "guarantee")
    store.record_promises([promise])
    store.record_promises([promise])
    assert store.read_promises() == {("policy-abc", "math"): promise}
    store.close()
    tables = set(sa.inspect(sa.create_engine(url)).get_table_names())
    assert {"costrouter_ledger", "costrouter_schema_version"} <= tables
    assert {"costrouter_shadow_samples", "costrouter_shadow_schema_version"} <= tables
    reopened = ShadowStore(url)  # migrations are not run twice
    with reopened.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM costrouter_shadow_schema_version"))
        assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))
    reopened.close()


def test_reads_filter_by_time_and_task() -> None:
    store = ShadowStore("memory://")
    store.add_sample(sample("old", days_ago=10))
    store.add_sample(sample("new", days_ago=1))
    since = (NOW - timedelta(days=7)).replace(tzinfo=None)
    assert [r.run_id for r in store.read_samples(since=since)] == ["new"]
    assert store.read_samples(task="other") == []


def test_prune_erases_old_texts_then_old_samples() -> None:
    store = ShadowStore("memory://")
    for run_id, days in (("fresh", 1), ("older", 40), ("oldest", 200)):
        store.add_sample(sample(run_id, days_ago=days))
    store.prune(NOW.replace(tzinfo=None), prompt_days=30, row_days=180)
    rows = {r.run_id: r for r in store.read_samples()}
    assert set(rows) == {"fresh", "older"}
    assert rows["fresh"].messages is not None and rows["fresh"].served_text == "2"
    older = rows["older"]
    assert (older.messages, older.served_text, older.reference_text) == (None, None, None)
    assert older.score == 1.0  # the score stays for drift


def test_a_sample_s_prompt_digest_is_stored_and_outlives_its_prompt() -> None:
    """The digest is not the prompt: pruning the texts keeps it, so drift still counts
    the old copies of a prompt as one."""
    store = ShadowStore("memory://")
    digest = "v2:" + "0f" * 32
    store.add_sample(replace(sample("older", days_ago=40), prompt_digest=digest))
    store.prune(NOW.replace(tzinfo=None), prompt_days=30, row_days=180)
    (older,) = store.read_samples()
    assert (older.messages, older.prompt_digest) == (None, digest)


def test_tables_newer_than_this_version_are_refused_and_the_file_let_go(tmp_path: Path) -> None:
    # Before: the ConfigError left the engine's pooled connection (and the file) open.
    path = tmp_path / "shadow.sqlite"
    ShadowStore(f"sqlite:///{path}").close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO costrouter_shadow_schema_version VALUES (99)"))
    engine.dispose()
    with pytest.raises(ConfigError, match="schema version 99"):
        ShadowStore(f"sqlite:///{path}")
    assert _held(tmp_path) == []


def _held(root: Path) -> list[str]:
    """The files under ``root`` this process has open."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed since
            if (target := os.readlink(f"/proc/self/fd/{fd}")).startswith(str(root)):
                found.append(target)
    return found
