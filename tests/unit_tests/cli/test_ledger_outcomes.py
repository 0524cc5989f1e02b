"""``calibrate --from-ledger`` reads a database, never changes it, and says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger


def test_a_ledger_without_shadow_samples_is_said_so_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading created the shadow tables (three of them) in whatever database it was
    pointed at, the way a typo in a Postgres database name would get them too."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    open_ledger(url).close()
    engine = sa.create_engine(url)
    before = set(sa.inspect(engine).get_table_names())
    assert main(["calibrate", "--from-ledger", url, "--task", "math"]) == 2
    err = capsys.readouterr().err
    assert "no usable shadow outcomes of task 'math'" in err
    assert "no table costrouter_shadow_samples" in err
    assert set(sa.inspect(engine).get_table_names()) == before
    engine.dispose()
