"""The SQL budget store's work on one connection: each operation's statements, in order.

Postgres reserves on one budget with ONE autocommit statement, on several with their
accounts locked and then one statement in a transaction, all or none (`PostgresQueries`),
and settles with one statement.
SQLite runs one conditional upsert per account and the lease inserts in a ``BEGIN
IMMEDIATE`` transaction (one writer at a time holds the database). Leases that ran out
are reclaimed only after a refusal (`_recheck`) or before a read, so the common
reservation never scans them; accounts a day past their window are purged by the first
reservation ten minutes after the last purge. `SQLStore` (budgets/sql_store.py) runs
this work through `SQLConnections`, sync or async, and decides when to try a reservation
again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.model import RateLimit
from langchain_costrouter.budgets.sql_connections import SQLConnections, transaction
from langchain_costrouter.budgets.sql_postgres import PostgresQueries
from langchain_costrouter.budgets.sql_queries import Queries
from langchain_costrouter.budgets.sql_schema import DEFAULT_TABLE_PREFIX, budget_tables
from langchain_costrouter.budgets.store import Buckets, RateGrant, Refusal, take

_PURGE_EVERY_SECONDS = 600.0


class Ask(NamedTuple):
    """One reservation as `BudgetStore.reserve` received it."""

    claims: Sequence[Claim]
    amount: int
    lease_seconds: float
    reservation_id: str


class SQLStoreWork:
    """A SQL store's tables, connections and statements, and the work each operation
    runs on one connection (`SQLStore` says what each argument means); not used on its
    own."""

    def __init__(
        self, url: str, *, prefix: str = DEFAULT_TABLE_PREFIX, durable: bool = False
    ) -> None:
        self.tables = budget_tables(prefix)
        self._db = SQLConnections(url, self.tables, durable=durable)
        self.url = self._db.url
        self._postgres = self._db.postgres
        self._pg = PostgresQueries(self.tables) if self._postgres else None
        self._queries = self._pg or Queries(self.tables, self._db.engine.dialect.name)
        self._buckets_known: set[str] = set()
        self._next_purge = time.time() + _PURGE_EVERY_SECONDS

    def _recheck(self, conn: sa.Connection, ask: Ask, refused: int) -> Refusal | None:
        """After a refusal: reclaim leases that ran out, then report the account without
        room, never another one; None when every account shows room (the refusal met
        reservations in flight that have settled since, or expired ones): try again."""
        self._reclaim(conn, ask.claims)
        state = self._read_accounts(conn, ask.claims)
        short = _account_without_room(ask.claims, state, ask.amount)
        return None if short is None else Refusal(short, *state[short])

    def _still_contended(self, conn: sa.Connection, ask: Ask, refused: int) -> Refusal:
        """Refused after every try although the accounts showed room: refuse, do not spin."""
        return Refusal(refused, *self._read_accounts(conn, ask.claims)[refused])

    def _try_reserve(self, conn: sa.Connection, ask: Ask) -> int | None:
        """Reserve on every account or none; None when reserved, else the position of
        an account that refused (the one a refusal must name)."""
        claims, amount = ask.claims, ask.amount
        for index, claim in enumerate(claims):
            if amount > claim.limit:
                return index  # a new account takes any amount: check the limit here
        lease = {"amount": amount, "reservation": ask.reservation_id, "lease": ask.lease_seconds}
        if self._pg is not None:
            return self._pg.reserve(conn, claims, lease)
        queries = self._queries
        with transaction(conn) as commit:
            for index, claim in enumerate(claims):  # in key order: every writer's lock order
                params = _account_params(claim) | lease
                if conn.execute(queries.reserve_account, params).first() is None:
                    return index  # rolled back: all or none
            conn.execute(queries.insert_lease, [_account_params(c) | lease for c in claims])
            commit()
        return None

    def _settle(
        self, conn: sa.Connection, claims: Sequence[Claim], reservation_id: str, actual: int
    ) -> list[int]:
        if self._pg is not None:
            return self._pg.settle(conn, claims, reservation_id, actual)
        queries = self._queries
        with transaction(conn) as commit:
            freed = _amounts(conn.execute(queries.delete_lease, {"reservation": reservation_id}))
            spent_after = [
                int(
                    conn.execute(
                        queries.settle_account,
                        _account_params(claim)
                        | {"actual": actual, "freed": freed.get(claim.key, 0)},
                    ).scalar_one()
                )
                for claim in claims
            ]
            commit()
        return spent_after

    def _renew(self, conn: sa.Connection, reservation_id: str, lease_seconds: float) -> bool:
        params = {"renewed": reservation_id, "renewed_for": lease_seconds}
        if self._postgres:  # autocommit: the statement is its own transaction
            return conn.execute(self._queries.renew_lease, params).rowcount > 0
        with transaction(conn) as commit:
            renewed = conn.execute(self._queries.renew_lease, params).rowcount > 0
            commit()
        return renewed

    def _read(self, conn: sa.Connection, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        self._reclaim(conn, claims)
        return self._read_accounts(conn, claims)

    def _read_accounts(self, conn: sa.Connection, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        """(spent, reserved) per claim, in a read that ends before the next write (on
        SQLite an open read would hold the database's write lock)."""
        keys = [claim.key for claim in claims]
        rows = {
            key: (int(spent), int(reserved))
            for key, spent, reserved in conn.execute(self._queries.read_accounts, {"keys": keys})
        }
        conn.rollback()
        return [rows.get(key, (0, 0)) for key in keys]

    def _reclaim(self, conn: sa.Connection, claims: Sequence[Claim]) -> None:
        """Drop leases that ran out from the claims' accounts."""
        keys = [claim.key for claim in claims]
        with transaction(conn) as commit:
            self._lock(conn, claims)
            freed = _amounts(conn.execute(self._queries.delete_ran_out, {"keys": keys}))
            for key in sorted(freed):
                conn.execute(self._queries.release_reserved, {"account": key, "freed": freed[key]})
            commit()

    def _acquire_rate(
        self, conn: sa.Connection, key: str, limit: RateLimit, tokens: int, max_wait: float
    ) -> RateGrant:
        queries = self._queries
        bucket = {"bucket": key}
        with transaction(conn) as commit:
            if key not in self._buckets_known:
                full = {"requests": float(limit.rpm or 0), "tokens": float(limit.tpm or 0)}
                conn.execute(queries.ensure_bucket, bucket | full)
            requests, held, updated_at, now = conn.execute(queries.lock_bucket, bucket).one()
            state, grant = take(Buckets(requests, held, updated_at), limit, tokens, max_wait, now)
            if state is not None:
                conn.execute(
                    queries.update_bucket,
                    bucket
                    | {
                        "requests": state.requests,
                        "tokens": state.tokens,
                        "updated_at": state.updated_at,
                    },
                )
            commit()
        self._buckets_known.add(key)
        return grant

    def _lock(self, conn: sa.Connection, claims: Sequence[Claim]) -> None:
        if self._postgres:
            conn.execute(self._queries.lock_accounts, {"keys": [claim.key for claim in claims]})

    def _purge(self, conn: sa.Connection) -> None:
        """Forget accounts (and their leases) a day after their window ended."""
        self._next_purge = time.time() + _PURGE_EVERY_SECONDS
        queries = self._queries
        with transaction(conn) as commit:
            keys = list(conn.execute(queries.expired_accounts).scalars())
            if keys:
                conn.execute(queries.forget_leases, {"keys": keys})
                conn.execute(queries.forget_accounts, {"keys": keys})
            commit()


def _account_params(claim: Claim) -> dict[str, Any]:
    return {"account": claim.key, "limit": claim.limit, "expires_at": claim.expires_at}


def _amounts(rows: Iterable[Any]) -> dict[str, int]:
    """Sum (key, amount) rows of deleted leases per account key."""
    totals: dict[str, int] = {}
    for key, amount in rows:
        totals[key] = totals.get(key, 0) + int(amount)
    return totals


def _account_without_room(
    claims: Sequence[Claim], state: list[tuple[int, int]], amount: int
) -> int | None:
    """The position of the first account the amount does not fit in, if any."""
    for index, (claim, (spent, reserved)) in enumerate(zip(claims, state, strict=True)):
        if spent + reserved + amount > claim.limit:
            return index
    return None
