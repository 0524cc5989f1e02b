"""Postgres reserves and settles with one statement whatever the number of budgets.

Reservation: a conditional upsert of the accounts (``spent + reserved + amount <=
limit`` checked on each locked row, rows taken from ``unnest`` of the parameters in key
order, the order every writer locks accounts in) chained by a CTE to the insert of the
leases. One round trip in autocommit mode for one budget; in a transaction that commits
only if every account took the reservation for several. Settlement: the delete of the
leases chained to an upsert adding the cost, one round trip. Array parameters keep each
statement the same whatever the number of accounts, so SQLAlchemy compiles it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.sql_queries import Queries
from langchain_costrouter.budgets.sql_schema import BudgetTables


class PostgresQueries(Queries):
    """`Queries` plus the one-statement reservation and settlement."""

    def __init__(self, tables: BudgetTables) -> None:
        super().__init__(tables, "postgresql")
        self.reserve_all = self._reserve_all()
        self.settle_all = self._settle_all()

    def _accounts_from_parameters(self, spent: Any, reserved: Any) -> Any:
        """INSERT INTO accounts SELECT ... FROM unnest(:accounts, :limits, :expiries)."""
        given = (
            sa.func.unnest(
                sa.bindparam("accounts", type_=postgresql.ARRAY(sa.String)),
                sa.bindparam("limits", type_=postgresql.ARRAY(sa.BigInteger)),
                sa.bindparam("expiries", type_=postgresql.ARRAY(sa.Float)),
            )
            .table_valued("key", "limit_pico", "expires_at")
            .render_derived(name="given")
        )
        rows = sa.select(given.c.key, spent, reserved, given.c.limit_pico, given.c.expires_at)
        return postgresql.insert(self.tables.accounts).from_select(
            ["key", "spent", "reserved", "limit_pico", "expires_at"], rows.order_by(given.c.key)
        )

    def _reserve_all(self) -> Any:
        """RETURNING one row per account that took the reservation."""
        accounts = self._accounts_from_parameters(sa.literal(0, sa.BigInteger), _amount())
        up = self._reserve_on_conflict(accounts).returning(self.tables.accounts.c.key).cte("up")
        lease = sa.select(_reservation(), up.c.key, _amount(), self.now + _lease())
        leases = self.tables.leases
        return (
            sa.insert(leases)
            .from_select(["reservation", "key", "amount", "expires_at"], lease)
            .returning(leases.c.key)
        )

    def _settle_all(self) -> Any:
        """RETURNING (key, spent) per account. An upsert, so a settlement after an account
        was forgotten still counts; each account row is locked before its SET reads the
        deleted leases (account, then lease: the lock order of every statement)."""
        leases, table = self.tables.leases, self.tables.accounts
        gone = (
            sa.delete(leases)
            .where(leases.c.reservation == _reservation())
            .returning(leases.c.key, leases.c.amount)
            .cte("settled_leases")
        )
        actual = sa.bindparam("actual", type_=sa.BigInteger)
        rows = self._accounts_from_parameters(actual, sa.literal(0, sa.BigInteger))
        freed = (
            sa.select(sa.func.coalesce(sa.func.sum(gone.c.amount), 0))
            # SQLAlchemy would add the table to the subquery's FROM instead of
            # correlating it with the row ON CONFLICT updates: name that row directly.
            .where(gone.c.key == sa.literal_column("excluded.key"))
            .scalar_subquery()
        )
        return rows.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "spent": table.c.spent + rows.excluded.spent,
                "reserved": table.c.reserved - freed,
                "expires_at": rows.excluded.expires_at,
            },
        ).returning(table.c.key, table.c.spent)


def account_params(claims: Sequence[Claim]) -> dict[str, Any]:
    """The account parameters of `PostgresQueries.reserve_all` and ``settle_all``."""
    return {
        "accounts": [claim.key for claim in claims],
        "limits": [claim.limit for claim in claims],
        "expiries": [claim.expires_at for claim in claims],
    }


def _amount() -> Any:
    return sa.bindparam("amount", type_=sa.BigInteger)


def _reservation() -> Any:
    return sa.bindparam("reservation", type_=sa.String)


def _lease() -> Any:
    return sa.bindparam("lease", type_=sa.Float)
