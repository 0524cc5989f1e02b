"""Postgres reserves and settles with one autocommit statement whatever the number of
budgets: one round trip each.

Reservation on one account: a conditional upsert (``spent + reserved + amount <=
limit`` checked on the locked row, a new account created with the reservation) chained
to the insert of the lease. On several: lock the accounts in key order (``SELECT ...
FOR UPDATE``, the order every writer locks accounts in), add the amount to every one
only if none is missing or short of room, insert the leases, and return the accounts as
they stood, so the caller sees which one refused (all or none, without a transaction);
an account's first reservation finds it missing: `ensure_accounts` creates it empty and
the reservation runs again (once per account and window). The one-account statement is
the cheaper of the two for the server (bench/budget.py). Settlement: the delete of the
leases chained to an upsert adding the cost. Array parameters keep each statement the
same whatever the number of accounts; each is compiled once and run on the driver's
cursor (budgets/sql_driver.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.sql_driver import DriverStatement, fetch_all
from langchain_costrouter.budgets.sql_queries import Queries
from langchain_costrouter.budgets.sql_schema import BudgetTables

_ENSURE_TRIES = 3


class PostgresQueries(Queries):
    """`Queries` plus the one-statement reservation and settlement."""

    def __init__(self, tables: BudgetTables) -> None:
        super().__init__(tables, "postgresql")
        dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]
        self.reserve_one = DriverStatement.compile(self._reserve_one(), dialect)
        self.reserve_all = DriverStatement.compile(self._reserve_all(), dialect)
        self.ensure_accounts = DriverStatement.compile(self._ensure_accounts(), dialect)
        self.settle_all = DriverStatement.compile(self._settle_all(), dialect)

    def reserve(
        self, conn: sa.Connection, claims: Sequence[Claim], lease: dict[str, Any]
    ) -> int | None:
        """Reserve ``lease["amount"]`` on every account or none, on an autocommit
        connection; None when reserved, else the position of an account without room."""
        params = account_params(claims) | lease
        if len(claims) == 1:
            return None if fetch_all(conn, self.reserve_one, params) else 0
        for _ in range(_ENSURE_TRIES):
            rows = fetch_all(conn, self.reserve_all, params)
            state = {key: spent + reserved for key, spent, reserved in rows}
            missing = False
            for index, claim in enumerate(claims):
                held = state.get(claim.key)
                if held is None:
                    missing = True
                elif held + lease["amount"] > claim.limit:
                    return index  # the statement took nothing
            if not missing:
                return None
            fetch_all(conn, self.ensure_accounts, account_params(claims))
        return next(i for i, claim in enumerate(claims) if claim.key not in state)

    def settle(
        self, conn: sa.Connection, claims: Sequence[Claim], reservation_id: str, actual: int
    ) -> list[int]:
        """Drop the reservation's leases and add ``actual``; each account's spend after."""
        params = account_params(claims) | {"reservation": reservation_id, "actual": actual}
        spent = dict(fetch_all(conn, self.settle_all, params))
        return [int(spent[claim.key]) for claim in claims]

    def _given(self, name: str) -> Any:
        """The accounts passed as arrays: unnest(:accounts, :limits, :expiries)."""
        return (
            sa.func.unnest(
                _keys(),
                sa.bindparam("limits", type_=postgresql.ARRAY(sa.BigInteger)),
                sa.bindparam("expiries", type_=postgresql.ARRAY(sa.Float)),
            )
            .table_valued("key", "limit_pico", "expires_at")
            .render_derived(name=name)
        )

    def _accounts_from_parameters(self, spent: Any, reserved: Any) -> Any:
        """INSERT INTO accounts SELECT ... FROM unnest(...) in key order."""
        given = self._given("given")
        rows = sa.select(given.c.key, spent, reserved, given.c.limit_pico, given.c.expires_at)
        return postgresql.insert(self.tables.accounts).from_select(
            ["key", "spent", "reserved", "limit_pico", "expires_at"], rows.order_by(given.c.key)
        )

    def _reserve_one(self) -> Any:
        """RETURNING the account's key when it took the reservation."""
        zero = sa.literal(0, sa.BigInteger)
        upsert = self._reserve_on_conflict(self._accounts_from_parameters(zero, _amount()))
        took = upsert.returning(self.tables.accounts.c.key).cte("took")
        return self._insert_leases(took)

    def _insert_leases(self, took: Any) -> Any:
        """INSERT a lease per account that took the reservation."""
        lease = sa.select(_reservation(), took.c.key, _amount(), self.now + _lease())
        leases = self.tables.leases
        return (
            sa.insert(leases)
            .from_select(["reservation", "key", "amount", "expires_at"], lease)
            .returning(leases.c.key)
        )

    def _reserve_all(self) -> Any:
        """RETURNING (key, spent, reserved) of each account found, before the reservation."""
        accounts = self.tables.accounts
        locked = (
            sa.select(accounts.c.key, accounts.c.spent, accounts.c.reserved)
            .where(accounts.c.key == sa.any_(_keys()))
            .order_by(accounts.c.key)
            .with_for_update()
            .cte("locked")
            .prefix_with("MATERIALIZED")
        )
        asked = self._given("asked")
        refusing = (
            sa.select(asked.c.key)
            .select_from(asked.outerjoin(locked, locked.c.key == asked.c.key))
            .where(
                sa.or_(
                    locked.c.key.is_(None),
                    locked.c.spent + locked.c.reserved + _amount() > asked.c.limit_pico,
                )
            )
            .correlate(None)
            .exists()
        )
        given = self._given("given")
        took = (
            sa.update(accounts)
            .where(accounts.c.key == given.c.key, ~refusing)
            .values(
                reserved=accounts.c.reserved + _amount(),
                limit_pico=given.c.limit_pico,
                expires_at=given.c.expires_at,
            )
            .returning(accounts.c.key)
            .cte("took")
        )
        leased = self._insert_leases(took).cte("leased")
        return sa.select(locked.c.key, locked.c.spent, locked.c.reserved).add_cte(leased)

    def _ensure_accounts(self) -> Any:
        """Empty accounts for the keys that have none (a reservation's first)."""
        zero = sa.literal(0, sa.BigInteger)
        insert = self._accounts_from_parameters(zero, zero)
        return insert.on_conflict_do_nothing(index_elements=[self.tables.accounts.c.key]).returning(
            self.tables.accounts.c.key
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
    """The account parameters of the statements: arrays in claim (key) order."""
    return {
        "accounts": [claim.key for claim in claims],
        "limits": [claim.limit for claim in claims],
        "expiries": [claim.expires_at for claim in claims],
    }


def _keys() -> Any:
    return sa.bindparam("accounts", type_=postgresql.ARRAY(sa.String))


def _amount() -> Any:
    return sa.bindparam("amount", type_=sa.BigInteger)


def _reservation() -> Any:
    return sa.bindparam("reservation", type_=sa.String)


def _lease() -> Any:
    return sa.bindparam("lease", type_=sa.Float)
