"""Cache hit latency: LangChain's own caches against langchain-costrouter's, same run.

Baselines, on a plain in-process chat model through ``invoke``:
  * LangChain ``InMemoryCache``;
  * LangChain's SQLite cache (``SQLiteCache`` of langchain-community, replicated
    below because that package is not installed here: same table, same
    ``dumps``/``loads`` values, same SQLAlchemy session per lookup).

Measured against them:
  (a) the backends' own hit path (key + get + decode), in-memory and diskcache;
  (b) ``CostRouterLLMCache`` (our backends behind ``set_llm_cache``) on the plain model;
  (c) hits through ``RoutedChatModel.invoke`` (`bench_router_hits`).

Targets (issue 5): router in-memory hit <= 1.2x InMemoryCache; router diskcache hit
no slower than the SQLite cache hit.

Run: python bench/cache.py
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_table
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache, InMemoryCache
from langchain_core.language_models import BaseChatModel
from langchain_core.load import dumps, loads
from langchain_core.messages import HumanMessage
from sqlalchemy import Column, Integer, String, create_engine, select
from sqlalchemy.orm import Session, declarative_base

from langchain_costrouter.cache import (
    CacheRequest,
    CostRouterLLMCache,
    ResponseCache,
    open_cache,
)
from langchain_costrouter.testing.models import ScriptedChatModel

PROMPT = "Classify the sentiment of: the delivery was late but the support was great."
ANSWER = "positive"
CALLS, ROUNDS = 200, 9

_Base: Any = declarative_base()


class _FullLLMCache(_Base):  # type: ignore[misc]
    """langchain_community.cache.FullLLMCache."""

    __tablename__ = "full_llm_cache"
    prompt = Column(String, primary_key=True)
    llm = Column(String, primary_key=True)
    idx = Column(Integer, primary_key=True)
    response = Column(String)


class LangChainSQLiteCache(BaseCache):
    """langchain_community.cache.SQLiteCache (0.4.1), lookup and update verbatim."""

    def __init__(self, database_path: str) -> None:
        self.engine = create_engine(f"sqlite:///{database_path}")
        _Base.metadata.create_all(self.engine)

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        stmt = (
            select(_FullLLMCache.response)
            .where(_FullLLMCache.prompt == prompt)
            .where(_FullLLMCache.llm == llm_string)
            .order_by(_FullLLMCache.idx)
        )
        with Session(self.engine) as session:
            rows = session.execute(stmt).fetchall()
            if rows:
                return [loads(row[0]) for row in rows]
        return None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        items = [
            _FullLLMCache(prompt=prompt, llm=llm_string, response=dumps(gen), idx=i)
            for i, gen in enumerate(return_val)
        ]
        with Session(self.engine) as session, session.begin():
            for item in items:
                session.merge(item)

    def clear(self, **kwargs: Any) -> None:
        with Session(self.engine) as session:
            session.query(_FullLLMCache).delete()
            session.commit()


def plain_model(cache: BaseCache) -> BaseChatModel:
    return ScriptedChatModel(model="gpt-4o-mini", answers=[ANSWER], cache=cache)


def warm(fn: Callable[[], object]) -> Callable[[], object]:
    """Call once so the entry exists and imports/connections are warm."""
    fn()
    fn()
    return fn


def baseline_fns(directory: Path) -> dict[str, Callable[[], object]]:
    in_memory = plain_model(InMemoryCache())
    sqlite = plain_model(LangChainSQLiteCache(str(directory / "langchain.db")))
    ours_memory = plain_model(CostRouterLLMCache.from_url("memory://"))
    ours_disk = plain_model(CostRouterLLMCache.from_url(f"diskcache://{directory / 'lc-disk'}"))
    return {
        "LangChain InMemoryCache (plain model)": warm(lambda: in_memory.invoke(PROMPT)),
        "LangChain SQLiteCache (plain model)": warm(lambda: sqlite.invoke(PROMPT)),
        "CostRouterLLMCache memory:// (plain model)": warm(lambda: ours_memory.invoke(PROMPT)),
        "CostRouterLLMCache diskcache (plain model)": warm(lambda: ours_disk.invoke(PROMPT)),
    }


def backend_hit_fns(directory: Path) -> dict[str, Callable[[], object]]:
    """Key + get + decode, what the router adds on a hit, without the router."""
    fns = {}
    for name, url in (("memory://", "memory://"), ("diskcache", f"diskcache://{directory / 'rc'}")):
        cache = open_cache(url)
        cache.store(request(), ScriptedChatModel(answers=[ANSWER]).invoke(PROMPT))
        fns[f"ResponseCache {name} key+lookup"] = warm(_lookup(cache))
    return fns


def request() -> CacheRequest:
    return CacheRequest(messages=[HumanMessage(PROMPT)], task="chat", params={"temperature": 0.0})


def _lookup(cache: ResponseCache) -> Callable[[], object]:
    return lambda: cache.lookup(request())


def bench_router_hits(directory: Path) -> dict[str, Callable[[], object]]:
    """Hits through ``RoutedChatModel.invoke`` with our in-memory and diskcache caches."""
    from langchain_costrouter import RoutedChatModel

    fns = {}
    for name, url in (("memory://", "memory://"), ("diskcache", f"diskcache://{directory / 'rt'}")):
        child = ScriptedChatModel(model="gpt-4o-mini", answers=[ANSWER])
        router = RoutedChatModel(
            routes={"chat": [child]}, default_task="chat", cache=open_cache(url)
        )
        fns[f"RoutedChatModel {name} hit"] = warm(lambda router=router: router.invoke(PROMPT))
    return fns


def main() -> None:
    # The verbatim SQLite baseline calls ``loads`` as langchain-community does; its notices
    # (a beta API, a changing default) say nothing about the timings.
    warnings.filterwarnings("ignore", message="The function `loads` is in beta")
    warnings.filterwarnings("ignore", message="The default value of `allowed_objects`")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        fns = {**baseline_fns(directory), **backend_hit_fns(directory)}
        fns.update(bench_router_hits(directory))
        medians = interleaved(fns, calls=CALLS, rounds=ROUNDS)
    in_memory = medians["LangChain InMemoryCache (plain model)"]
    sqlite = medians["LangChain SQLiteCache (plain model)"]
    rows = [
        [name, f"{seconds * 1e6:.1f}", f"{seconds / in_memory:.3f}", f"{seconds / sqlite:.3f}"]
        for name, seconds in medians.items()
    ]
    print_table(["hit path", "us/call", "x InMemoryCache", "x SQLiteCache"], rows)
    router_memory = medians["RoutedChatModel memory:// hit"] / in_memory
    router_disk = medians["RoutedChatModel diskcache hit"] / sqlite
    print(f"\nrouter memory:// hit / InMemoryCache hit = {router_memory:.3f} (target <= 1.2)")
    print(f"router diskcache hit / SQLiteCache hit  = {router_disk:.3f} (target <= 1.0)")


if __name__ == "__main__":
    main()
