"""The statements of the SQL budget store, built once per store with SQLAlchemy Core.

Every statement that writes an account locks account rows before lease rows, and
account rows in key order (the order of a statement's VALUES, or an explicit
``FOR UPDATE`` in key order), so concurrent reservations and settlements never
deadlock. SQLite needs none of this: a writer holds the whole database
(``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from langchain_costrouter.budgets.sql_schema import BudgetTables, database_now


class Queries:
    """Statements for one dialect and one set of tables."""

    def __init__(self, tables: BudgetTables, dialect: str) -> None:
        self.tables = tables
        self.dialect = dialect
        self.now = database_now(dialect)
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        accounts = tables.accounts
        self.reserve_account = self._reserve_account()
        self.insert_lease = sa.insert(tables.leases).values(
            reservation=sa.bindparam("reservation", type_=sa.String),
            key=sa.bindparam("account", type_=sa.String),
            amount=sa.bindparam("amount", type_=sa.BigInteger),
            expires_at=self.now + sa.bindparam("lease", type_=sa.Float),
        )
        self.settle_account = self._settle_account()
        self.lock_accounts = (
            sa.select(accounts.c.key)
            .where(accounts.c.key.in_(sa.bindparam("keys", expanding=True)))
            .order_by(accounts.c.key)
            .with_for_update()
        )
        self.read_accounts = sa.select(accounts.c.key, accounts.c.spent, accounts.c.reserved).where(
            accounts.c.key.in_(sa.bindparam("keys", expanding=True))
        )
        self.delete_lease = self._delete_lease()
        self.delete_ran_out = self._delete_ran_out()
        self.renew_lease = self._renew_lease()
        self.release_reserved = self._release_reserved()
        self.expired_accounts = self._expired_accounts()
        self.forget_leases, self.forget_accounts = self._forget_accounts()
        self.ensure_bucket = self._ensure_bucket()
        self.lock_bucket = self._lock_bucket()
        self.update_bucket = self._update_bucket()

    def _delete_lease(self) -> Any:
        leases = self.tables.leases
        return (
            sa.delete(leases)
            .where(leases.c.reservation == sa.bindparam("reservation"))
            .returning(leases.c.key, leases.c.amount)
        )

    def _renew_lease(self) -> Any:
        """Move the deadline of a reservation's leases that have not run out, locking
        them in key order (a settlement of the same reservation deletes them meanwhile)."""
        leases = self.tables.leases
        held = (
            sa.select(leases.c.reservation, leases.c.key)
            .where(leases.c.reservation == sa.bindparam("renewed", type_=sa.String))
            .where(leases.c.expires_at > self.now)
            .order_by(leases.c.key)
        )
        if self.dialect == "postgresql":
            held = held.with_for_update()
        return (
            sa.update(leases)
            .where(sa.tuple_(leases.c.reservation, leases.c.key).in_(held))
            .values(expires_at=self.now + sa.bindparam("renewed_for", type_=sa.Float))
        )

    def _delete_ran_out(self) -> Any:
        leases = self.tables.leases
        return (
            sa.delete(leases)
            .where(leases.c.key.in_(sa.bindparam("keys", expanding=True)))
            .where(leases.c.expires_at <= self.now)
            .returning(leases.c.key, leases.c.amount)
        )

    def _release_reserved(self) -> Any:
        accounts = self.tables.accounts
        return (
            sa.update(accounts)
            .where(accounts.c.key == sa.bindparam("account"))
            .values(reserved=accounts.c.reserved - sa.bindparam("freed", type_=sa.BigInteger))
        )

    def _expired_accounts(self) -> Any:
        accounts = self.tables.accounts
        return (
            sa.select(accounts.c.key)
            .where(accounts.c.expires_at < self.now)
            .order_by(accounts.c.key)
            .limit(1000)
            .with_for_update()
        )

    def _forget_accounts(self) -> tuple[Any, Any]:
        """Delete the leases, then the accounts, of the keys given (windows long over)."""
        leases, accounts = self.tables.leases, self.tables.accounts
        keys: sa.BindParameter[list[str]] = sa.bindparam("keys", expanding=True)
        return sa.delete(leases).where(leases.c.key.in_(keys)), sa.delete(accounts).where(
            accounts.c.key.in_(keys)
        )

    def _ensure_bucket(self) -> Any:
        """A full bucket row if there is none, so the next statement has a row to lock."""
        buckets = self.tables.buckets
        return (
            self._insert(buckets)
            .values(
                key=sa.bindparam("bucket", type_=sa.String),
                requests=sa.bindparam("requests", type_=sa.Float),
                tokens=sa.bindparam("tokens", type_=sa.Float),
                updated_at=self.now,
            )
            .on_conflict_do_nothing(index_elements=[buckets.c.key])
        )

    def _lock_bucket(self) -> Any:
        buckets = self.tables.buckets
        return (
            sa.select(buckets.c.requests, buckets.c.tokens, buckets.c.updated_at, self.now)
            .where(buckets.c.key == sa.bindparam("bucket", type_=sa.String))
            .with_for_update()
        )

    def _update_bucket(self) -> Any:
        buckets = self.tables.buckets
        return (
            sa.update(buckets)
            .where(buckets.c.key == sa.bindparam("bucket", type_=sa.String))
            .values(
                requests=sa.bindparam("requests", type_=sa.Float),
                tokens=sa.bindparam("tokens", type_=sa.Float),
                updated_at=sa.bindparam("updated_at", type_=sa.Float),
            )
        )

    def _reserve_on_conflict(self, insert: Any) -> Any:
        accounts = self.tables.accounts
        return insert.on_conflict_do_update(
            index_elements=[accounts.c.key],
            set_={
                "reserved": accounts.c.reserved + insert.excluded.reserved,
                "limit_pico": insert.excluded.limit_pico,
                "expires_at": insert.excluded.expires_at,
            },
            where=accounts.c.spent + accounts.c.reserved + insert.excluded.reserved
            <= insert.excluded.limit_pico,
        )

    def _account_row(self, spent: Any) -> Any:
        return self._insert(self.tables.accounts).values(
            key=sa.bindparam("account", type_=sa.String),
            spent=spent,
            reserved=0,
            limit_pico=sa.bindparam("limit", type_=sa.BigInteger),
            expires_at=sa.bindparam("expires_at", type_=sa.Float),
        )

    def _settle_account(self) -> Any:
        """Add the actual cost to spent and drop the freed reservation; RETURNING spent.
        An upsert, so a settlement after the account was forgotten still counts."""
        accounts = self.tables.accounts
        insert = self._account_row(sa.bindparam("actual", type_=sa.BigInteger))
        return insert.on_conflict_do_update(
            index_elements=[accounts.c.key],
            set_={
                "spent": accounts.c.spent + insert.excluded.spent,
                "reserved": accounts.c.reserved - sa.bindparam("freed", type_=sa.BigInteger),
                "expires_at": insert.excluded.expires_at,
            },
        ).returning(accounts.c.spent)

    def _reserve_account(self) -> Any:
        """Add the amount to the account's reservations if it fits (a new account always
        fits: the caller checked ``amount <= limit``); RETURNING a row when it did."""
        insert = self._insert(self.tables.accounts).values(
            key=sa.bindparam("account", type_=sa.String),
            spent=0,
            reserved=sa.bindparam("amount", type_=sa.BigInteger),
            limit_pico=sa.bindparam("limit", type_=sa.BigInteger),
            expires_at=sa.bindparam("expires_at", type_=sa.Float),
        )
        return self._reserve_on_conflict(insert).returning(self.tables.accounts.c.key)
