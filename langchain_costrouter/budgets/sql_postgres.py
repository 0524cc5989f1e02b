"""Postgres reserves on one budget and settles with one autocommit statement each (one
round trip); a reservation on several budgets locks their accounts first, in the same
transaction (`_lock_all` says why), the two statements sent together (one round trip,
budgets/sql_driver.py).

Reservation on one account: a conditional upsert (``spent + reserved + amount <=
limit`` checked on the locked row, a new account created with the reservation) chained
to the insert of the lease. On several: lock the accounts in key order (``SELECT ...
FOR UPDATE``, the order every writer locks accounts in), add the amount to every one
only if none is missing or short of room, insert the leases, and return the accounts as
they stood, so the caller sees which one refused (all or none);
an account's first reservation finds it missing: `ensure_accounts` creates it empty and
the reservation runs again (once per account and window). The one-account statement is
the cheaper of the two for the server (bench/budget.py). Settlement: the delete of the
leases chained to an upsert adding the cost. Each statement is compiled once per number
of accounts (a gate has few budgets) with a scalar parameter per value: psycopg adapts
scalars in C and arrays in Python, 40% of the client's time for a reservation measured.
They run on the driver's cursor (budgets/sql_driver.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.sql_driver import DriverStatement, fetch_all, fetch_all_after
from langchain_costrouter.budgets.sql_queries import Queries
from langchain_costrouter.budgets.sql_schema import BudgetTables

_ENSURE_TRIES = 3


class PostgresQueries(Queries):
    """`Queries` plus the one-statement reservation and settlement."""

    def __init__(self, tables: BudgetTables) -> None:
        super().__init__(tables, "postgresql")
        self._dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]
        self._compiled: dict[tuple[str, int], DriverStatement] = {}

    def statement(self, name: str, accounts: int) -> DriverStatement:
        """``reserve_one``, ``lock_all``, ``reserve_all``, ``ensure_accounts`` or ``settle_all`` for
        this many accounts, compiled on first use."""
        compiled = self._compiled.get((name, accounts))
        if compiled is None:
            built = getattr(self, f"_{name}")(accounts)
            compiled = self._compiled[name, accounts] = DriverStatement.compile(
                built, self._dialect
            )
        return compiled

    def reserve(
        self, conn: sa.Connection, claims: Sequence[Claim], lease: dict[str, Any]
    ) -> int | None:
        """Reserve ``lease["amount"]`` on every account or none, on an autocommit
        connection; None when reserved, else the position of an account without room."""
        params, count = account_params(claims) | lease, len(claims)
        if count == 1:
            return None if fetch_all(conn, self.statement("reserve_one", 1), params) else 0
        lock, reserve = self.statement("lock_all", count), self.statement("reserve_all", count)
        for _ in range(_ENSURE_TRIES):
            rows = fetch_all_after(conn, (lock,), reserve, params)
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
            fetch_all(conn, self.statement("ensure_accounts", count), account_params(claims))
        return next(i for i, claim in enumerate(claims) if claim.key not in state)

    def settle(
        self, conn: sa.Connection, claims: Sequence[Claim], reservation_id: str, actual: int
    ) -> list[int]:
        """Drop the reservation's leases and add ``actual``; each account's spend after."""
        params = account_params(claims) | {"reservation": reservation_id, "actual": actual}
        spent = dict(fetch_all(conn, self.statement("settle_all", len(claims)), params))
        return [int(spent[claim.key]) for claim in claims]

    def _given(self, name: str, accounts: int) -> Any:
        """The accounts passed as parameters: (key, limit_pico, expires_at) rows."""
        rows = [
            sa.select(
                _key(i).label("key"),
                sa.bindparam(f"limit_{i}", type_=sa.BigInteger).label("limit_pico"),
                sa.cast(sa.bindparam(f"expires_at_{i}"), sa.Float).label("expires_at"),
            )
            for i in range(accounts)
        ]
        return (rows[0] if accounts == 1 else sa.union_all(*rows)).subquery(name)

    def _accounts_from_parameters(self, accounts: int, spent: Any, reserved: Any) -> Any:
        """INSERT INTO accounts SELECT ... FROM the given rows, in key order."""
        given = self._given("given", accounts)
        rows = sa.select(given.c.key, spent, reserved, given.c.limit_pico, given.c.expires_at)
        return postgresql.insert(self.tables.accounts).from_select(
            ["key", "spent", "reserved", "limit_pico", "expires_at"], rows.order_by(given.c.key)
        )

    def _reserve_one(self, accounts: int) -> Any:
        """RETURNING the account's key when it took the reservation."""
        zero = sa.literal(0, sa.BigInteger)
        upsert = self._reserve_on_conflict(
            self._accounts_from_parameters(accounts, zero, _amount())
        )
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

    def _lock_all(self, count: int) -> Any:
        """Lock the accounts found, in key order, before `_reserve_all` runs in the same
        transaction.

        On its own, `_reserve_all` took some reservations on part of their accounts
        (tests/integration_tests/budgets/test_stores.py's race, in CI and in 4 of some 35
        runs on a busy machine: 92 leases on the global account where 66 fit, each
        tenant's account right at its 33, 26 reservations holding the global account
        alone, all reported taken). The likely cause: its UPDATE reads the snapshot taken
        as the statement started, before its CTE waited for the rows' locks. Locked by
        an earlier statement of the same transaction, every account is read as it stands
        when the reservation's statement starts, and no other writer can change it until
        the commit.
        """
        accounts = self.tables.accounts
        return (
            sa.select(accounts.c.key)
            .where(accounts.c.key.in_([_key(i) for i in range(count)]))
            .order_by(accounts.c.key)
            .with_for_update()
        )

    def _reserve_all(self, count: int) -> Any:
        """RETURNING (key, spent, reserved) of each account found, before the reservation."""
        accounts = self.tables.accounts
        locked = (
            sa.select(accounts.c.key, accounts.c.spent, accounts.c.reserved)
            .where(accounts.c.key.in_([_key(i) for i in range(count)]))
            .order_by(accounts.c.key)
            .with_for_update()
            .cte("locked")
            .prefix_with("MATERIALIZED")
        )
        asked = self._given("asked", count)
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
        given = self._given("given", count)
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

    def _ensure_accounts(self, accounts: int) -> Any:
        """Empty accounts for the keys that have none (a reservation's first)."""
        zero = sa.literal(0, sa.BigInteger)
        insert = self._accounts_from_parameters(accounts, zero, zero)
        return insert.on_conflict_do_nothing(index_elements=[self.tables.accounts.c.key]).returning(
            self.tables.accounts.c.key
        )

    def _settle_all(self, accounts: int) -> Any:
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
        rows = self._accounts_from_parameters(accounts, actual, sa.literal(0, sa.BigInteger))
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
    """The account parameters of the statements, numbered in claim (key) order."""
    params: dict[str, Any] = {}
    for i, claim in enumerate(claims):
        params[f"account_{i}"] = claim.key
        params[f"limit_{i}"] = claim.limit
        params[f"expires_at_{i}"] = claim.expires_at
    return params


def _key(index: int) -> Any:
    return sa.bindparam(f"account_{index}", type_=sa.String)


def _amount() -> Any:
    return sa.bindparam("amount", type_=sa.BigInteger)


def _reservation() -> Any:
    return sa.bindparam("reservation", type_=sa.String)


def _lease() -> Any:
    return sa.bindparam("lease", type_=sa.Float)
