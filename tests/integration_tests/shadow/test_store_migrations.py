"""The shadow tables' migrations on Postgres: a database of an older schema is upgraded."""

from __future__ import annotations

import uuid
from dataclasses import replace

import sqlalchemy as sa

from langchain_costrouter.ledger.engine import sqlalchemy_url
from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.shadow.rows import sample_values
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
        for column in ("served_logprobs", "reference_logprobs"):
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
