"""The shadow tables' migrations: a database of an older schema is upgraded (Postgres, SQLite)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from langchain_costrouter.ledger.engine import sqlalchemy_url
from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.shadow.drift import drift_table
from langchain_costrouter.shadow.rows import SampleRow, sample_values
from langchain_costrouter.shadow.store import MIGRATIONS, ShadowStore
from tests.services import drop_tables
from tests.unit_tests.shadow.test_store import sample


def test_a_version_1_database_gains_the_logprob_columns(postgres_url: str) -> None:
    """A database made before the log-probability columns keeps its rows and gains them."""
    prefix = f"lp{uuid.uuid4().hex[:8]}_"
    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    with engine.begin() as conn:
        MIGRATIONS[0](conn, prefix)
        versions = sa.Table(
            f"{prefix}shadow_schema_version",
            sa.MetaData(),
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        )
        versions.create(conn)
        conn.execute(sa.insert(versions).values(version=1))
        old = sa.Table(f"{prefix}shadow_samples", sa.MetaData(), autoload_with=conn)
        values = sample_values(sample("old"))
        for column in ("served_logprobs", "reference_logprobs", "prompt_digest"):
            values.pop(column)
        conn.execute(sa.insert(old).values(**values))
    try:
        store = ShadowStore(postgres_url, table_prefix=prefix)
        summary = LogprobSummary(mean=-0.2, min=-1.5, tokens=4)
        store.add_sample(replace(sample("new"), served_logprobs=summary))
        old_row, new_row = store.read_samples()
        assert old_row == sample("old")  # no summary: None, not zero
        assert new_row.served_logprobs == summary and new_row.reference_logprobs is None
        store.close()
    finally:
        engine.dispose()
        drop_tables(postgres_url, prefix)


def version_2_database(url: str, prefix: str, rows: list[SampleRow]) -> None:
    """The shadow tables as version 2 made them, holding ``rows`` (no prompt digest)."""
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            for migration in MIGRATIONS[:2]:
                migration(conn, prefix)
            versions = sa.Table(
                f"{prefix}shadow_schema_version",
                sa.MetaData(),
                sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            )
            versions.create(conn)
            conn.execute(sa.insert(versions), [{"version": 1}, {"version": 2}])
            old = sa.Table(f"{prefix}shadow_samples", sa.MetaData(), autoload_with=conn)
            for row in rows:
                values = sample_values(row)
                values.pop("prompt_digest")
                conn.execute(sa.insert(old).values(**values))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.services)]
)
def test_a_version_2_database_gains_the_prompt_digest(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Rows stored before the digest keep their values and have none: each counts as a
    prompt of its own in drift (or by its messages, where kept); new rows store theirs."""
    prefix = f"pd{uuid.uuid4().hex[:8]}_"
    url = (
        request.getfixturevalue("postgres_url")
        if database == "postgres"
        else f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    )
    unkept = [replace(sample(f"old{i}"), messages=None) for i in range(2)]
    version_2_database(url, prefix, [sample("kept"), *unkept])
    try:
        store = ShadowStore(url, table_prefix=prefix)
        digest = "v2:" + "ab" * 32
        store.add_sample(replace(sample("new1", score=0.0), messages=None, prompt_digest=digest))
        store.add_sample(replace(sample("new2"), messages=None, prompt_digest=digest))
        rows = store.read_samples()
        with store.engine.connect() as conn:
            versions = conn.execute(sa.text(f"SELECT version FROM {prefix}shadow_schema_version"))
            assert sorted(v for (v,) in versions) == list(range(1, len(MIGRATIONS) + 1))
        store.close()
    finally:
        if database == "postgres":
            drop_tables(url, prefix)
    assert rows[:3] == [sample("kept"), *unkept]  # as stored, prompt_digest None
    assert [row.prompt_digest for row in rows] == [None, None, None, digest, digest]
    (row,) = drift_table(rows, {}, min_samples=0)
    assert (row.samples, row.prompts) == (5, 4)  # kept, old0, old1, and the two new as one
