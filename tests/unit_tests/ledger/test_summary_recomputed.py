"""Every figure of a summary equals its recomputation from the rows, in every store.

`recomputed.recomputed` sums the rows call by call, as `ledger/summary.py` states the
rules; the SQL ledgers aggregate in the database, the memory ledger in `grouping`, and
each must give the same figures to the picodollar, for every grouping and filter
(tests/integration_tests/ledger/test_summary_recomputed_postgres.py checks Postgres).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_costrouter.ledger import GROUP_BY, GroupBy, Ledger, LedgerRow, open_ledger
from tests.unit_tests.ledger.recomputed import FILTERS, recomputed, varied_rows

ROWS = varied_rows()


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    path = tmp_path_factory.mktemp("recomputed") / "ledger.db"
    url = "memory://" if request.param == "memory" else f"sqlite:///{path}"
    with open_ledger(url) as opened:
        opened.add(ROWS)
        yield opened


def test_the_rows_try_every_rule() -> None:
    """The rows hold what the rules tell apart, so the comparison below tests each."""
    calls = {row.run_id for row in ROWS}
    assert len(ROWS) > 2 * len(calls) * 0.9
    assert _spread(ROWS, "task") and _spread(ROWS, "namespace") and _spread(ROWS, "model")
    assert any(row.cost_usd is None and row.error is None for row in ROWS)
    assert any(row.cost_usd is None and row.error is not None for row in ROWS)
    (total,) = recomputed(ROWS, "all").values()
    assert 0 < total.unpriced_calls < total.calls
    assert total.saved_routing_usd and total.compression_net_usd is not None


def _spread(rows: list[LedgerRow], name: str) -> bool:
    """Some call has rows in two groups of ``name``."""
    seen: dict[str, set[object]] = {}
    for row in rows:
        seen.setdefault(row.run_id, set()).add(getattr(row, name))
    return any(len(values) > 1 for values in seen.values())


@pytest.mark.parametrize("by", GROUP_BY)
@pytest.mark.parametrize("name", FILTERS)
def test_the_summary_is_the_rows_recomputed(ledger: Ledger, by: GroupBy, name: str) -> None:
    filters = FILTERS[name]
    summary = ledger.summary(by, **filters)  # type: ignore[arg-type]
    expected = recomputed(ROWS, by, **filters)
    assert {row.key: row for row in summary} == expected
    assert len(summary) == len(expected)
