"""Start-up stays light: what importing the package and running the CLI load, and how long.

Each check runs a fresh interpreter, because the test process has long since imported
everything. Which modules get loaded is exact; the import time is pinned as a ratio
to langchain-core measured in the same test, never as seconds (bench/startup.py has
the absolute figures).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import ScriptedChatModel
from tests.fresh_python import fresh_python

# Libraries that only some features need. Each was imported up front once, and
# together they made `costrouter --help` take seconds.
OPTIONAL_AT_IMPORT = (
    "diskcache",
    "genai_prices",
    "httpx",
    "langchain_openai",
    "numpy",
    "openai",
    "psycopg",
    "redis",
    "sqlalchemy",
    "tqdm",
    "usearch",
)


def _loaded_after(code: str) -> list[str]:
    """The ``OPTIONAL_AT_IMPORT`` (and langchain-core) modules loaded once ``code`` ran."""
    watched = (*OPTIONAL_AT_IMPORT, "langchain_core")
    loaded: list[str] = fresh_python(
        f"{code}\nimport json, sys\nprint(json.dumps(sorted(set({watched!r}) & set(sys.modules))))"
    )
    return loaded


def _import_seconds(statement: str) -> float:
    """Time of ``statement`` inside a fresh interpreter (the interpreter's start excluded)."""
    code = (
        f"import time\nstart = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)"
    )
    return float(fresh_python(code))


def _median_ratio(statement: str, baseline: str, rounds: int) -> float:
    subject, base = [], []
    for _ in range(rounds):  # interleaved: a burst of load on the machine hits both alike
        base.append(_import_seconds(baseline))
        subject.append(_import_seconds(statement))
    return statistics.median(subject) / statistics.median(base)


def _median_ratio_on_top(statement: str, baseline: str, rounds: int) -> float:
    """`_median_ratio` for a ``statement`` that imports all ``baseline`` imports and more.

    One fresh interpreter per round times ``baseline``, then ``statement`` on top of it:
    their sum is what ``statement`` alone costs a fresh interpreter (the same modules
    load), and the subject shares its base with the baseline's own measure. Half the
    interpreters of `_median_ratio` (7 rounds: 14 interpreters took 13 s of the suite).
    """
    code = (
        "import time\nstart = time.perf_counter()\n"
        f"{baseline}\nbase = time.perf_counter() - start\n"
        f"{statement}\nprint([base, time.perf_counter() - start])"
    )
    measured: list[list[float]] = [fresh_python(code) for _ in range(rounds)]
    return statistics.median(m[1] for m in measured) / statistics.median(m[0] for m in measured)


def test_import_langchain_costrouter_loads_nothing_heavy() -> None:
    assert _loaded_after("import langchain_costrouter") == []


def test_the_router_loads_no_optional_library() -> None:
    assert _loaded_after("from langchain_costrouter import RoutedChatModel") == ["langchain_core"]


def test_cli_help_loads_neither_langchain_nor_optional_libraries() -> None:
    code = (
        "import contextlib\n"
        "from langchain_costrouter.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        "    main(['--help'])"
    )
    assert _loaded_after(code) == []


def test_report_on_sqlite_loads_sqlalchemy_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    answer = AIMessage(
        "ok", usage_metadata={"input_tokens": 9, "output_tokens": 1, "total_tokens": 10}
    )
    child = ScriptedChatModel(model="gpt-4o-mini", provider="openai", answers=[answer])
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat", ledger=url)
    router.invoke("hello")
    router.ledger_store.close()
    code = f"from langchain_costrouter.cli import main\nmain(['report', '--ledger', {url!r}])"
    assert _loaded_after(code) == ["sqlalchemy"]


@pytest.mark.slow
def test_import_time_is_pinned_as_a_ratio_of_langchain_core() -> None:
    """``import langchain_costrouter`` costs at most half of ``import langchain_core``.

    Names load on first use (PEP 562), so importing the package runs its ``__init__``
    alone. On the shared 2-core machine under load, medians of 5 were 0.01-0.06 of
    langchain-core's own ``__init__`` (1-9 ms against 50-200 ms); with the old eager
    ``__init__`` they were 23-43. Any eager import of a submodule brings langchain-core
    with it and puts the ratio above 1, so the limit of 0.5 fails on such a regression
    while leaving about ten times the measured ratio for noise.
    """
    ratio = _median_ratio("import langchain_costrouter", "import langchain_core", rounds=5)
    assert ratio <= 0.5, f"import langchain_costrouter took {ratio:.2f} x import langchain_core"


@pytest.mark.slow
def test_router_import_time_is_pinned_as_a_ratio_of_base_chat_model() -> None:
    """Importing ``RoutedChatModel`` costs at most 1.75 times langchain-core's ``BaseChatModel``.

    Every LangChain chat model pays for ``BaseChatModel``; the router adds its own
    modules and no optional library. Medians of 5 on the loaded 2-core machine were
    1.02-1.22 (single runs up to 1.8); before the lazy imports (SQLAlchemy, numpy,
    httpx, langchain-openai through the package ``__init__``) they were 2.9-3.8. The
    limit leaves 40% over the highest median and fails long before the old weight
    is back; `test_the_router_loads_no_optional_library` names the exact modules.
    Measured on top of ``BaseChatModel`` in one interpreter per round, medians of 7 were
    1.25-1.29 where separate interpreters gave 1.23-1.32, and importing numpy,
    SQLAlchemy, openai and langchain-openai with the router made it 2.6 (3.2 separately).
    """
    ratio = _median_ratio_on_top(
        "from langchain_costrouter import RoutedChatModel",
        "from langchain_core.language_models import BaseChatModel",
        rounds=7,
    )
    assert ratio <= 1.75, f"importing RoutedChatModel took {ratio:.2f} x BaseChatModel"
