"""``sqlite:///PATH`` (processes of one machine) and ``postgresql+psycopg://`` (many machines).

`SQLStore` is the `BudgetStore` on these URLs. Each operation, sync or async, runs its
work on one connection (budgets/_sql_work.py: Postgres reserves and settles in one
round trip whatever the number of budgets, SQLite in a ``BEGIN IMMEDIATE``
transaction) through `SQLConnections` (the async twins on Postgres's async engine, on
SQLite in a worker thread). A refused reservation is tried again while the accounts show
room (it met calls in flight that have settled since), and a refusal names the account
without room.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from langchain_costrouter.budgets._sql_work import Ask, SQLStoreWork
from langchain_costrouter.budgets.claims import Claim
from langchain_costrouter.budgets.model import RateLimit
from langchain_costrouter.budgets.store import BudgetStore, RateGrant, Refusal

_RESERVE_TRIES = 3


class SQLStore(SQLStoreWork, BudgetStore):
    """Counters in SQL tables named ``{prefix}budget_accounts`` and so on.

    Args:
        url: ``sqlite:///PATH`` or ``postgresql+psycopg://USER@HOST/DB``.
        prefix: Prepended to the table names, so applications share a database.
        durable: Postgres: flush every commit to disk before it returns (see
            `SQLConnections`); SQLite always runs WAL with ``synchronous=NORMAL``.
    """

    def reserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        if time.time() >= self._next_purge:
            self._db.run(self._purge, False)
        ask = Ask(claims, amount, lease_seconds, reservation_id)
        refused = self._db.run(self._try_reserve, self._postgres, ask)
        for _ in range(_RESERVE_TRIES):
            if refused is None:
                return None
            refusal = self._db.run(self._recheck, False, ask, refused)
            if refusal is not None:
                return refusal
            refused = self._db.run(self._try_reserve, self._postgres, ask)
        return self._db.run(self._still_contended, False, ask, refused)

    def settle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        return self._db.run(self._settle, self._postgres, claims, reservation_id, actual)

    def renew(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, lease_seconds: float
    ) -> bool:
        return self._db.run(self._renew, self._postgres, reservation_id, lease_seconds)

    def read(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        return self._db.run(self._read, False, claims)

    def acquire_rate(self, key: str, limit: RateLimit, tokens: int, max_wait: float) -> RateGrant:
        return self._db.run(self._acquire_rate, False, key, limit, tokens, max_wait)

    async def areserve(
        self, claims: Sequence[Claim], amount: int, lease_seconds: float, reservation_id: str
    ) -> Refusal | None:
        if time.time() >= self._next_purge:
            await self._db.arun(self._purge, False)
        ask = Ask(claims, amount, lease_seconds, reservation_id)
        refused = await self._db.arun(self._try_reserve, self._postgres, ask)
        for _ in range(_RESERVE_TRIES):
            if refused is None:
                return None
            refusal = await self._db.arun(self._recheck, False, ask, refused)
            if refusal is not None:
                return refusal
            refused = await self._db.arun(self._try_reserve, self._postgres, ask)
        return await self._db.arun(self._still_contended, False, ask, refused)

    async def asettle(
        self, claims: Sequence[Claim], reservation_id: str, amount: int, actual: int
    ) -> list[int]:
        return await self._db.arun(self._settle, self._postgres, claims, reservation_id, actual)

    async def aread(self, claims: Sequence[Claim]) -> list[tuple[int, int]]:
        return await self._db.arun(self._read, False, claims)

    async def aacquire_rate(
        self, key: str, limit: RateLimit, tokens: int, max_wait: float
    ) -> RateGrant:
        return await self._db.arun(self._acquire_rate, False, key, limit, tokens, max_wait)

    def close(self) -> None:
        self._db.close()

    def drop_tables(self) -> None:
        """Drop this store's tables (tests and tear-downs; the budgets' spend is lost)."""
        self._db.drop_tables()
