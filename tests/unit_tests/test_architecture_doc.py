"""docs/architecture.md's module tables say what the source imports, for every module.

The "may import (inside the package)" column is how a reader learns which modules lean
on which without reading them all; a column written once by hand drifted from the code
within weeks. So it is checked against the import graph the source really has (the one
`test_import_graph` builds: module level, ``TYPE_CHECKING`` and inside functions), both
ways, and every module must have a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit_tests.test_import_graph import NAME, PACKAGE, _graph

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
COLUMN = "may import (inside the package)"
NOTHING = "nothing"


@dataclass(frozen=True)
class Row:
    """One table row: the file or package it covers and the names it allows."""

    path: str  # "router/_io.py", "_sansio.py" or "cache/" (a package: all its modules)
    names: tuple[str, ...]  # backquoted names of the last cell, empty for "nothing"

    @property
    def scope(self) -> str:
        """The dotted module (or package) the row covers: ``langchain_costrouter.cache``."""
        parts = self.path.removesuffix("/").removesuffix(".py").split("/")
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        return ".".join([NAME, *parts])

    @property
    def is_package(self) -> bool:
        """A package row covers its modules, which import each other freely."""
        return self.path.endswith("/")

    def owns(self, target: str) -> bool:
        """Whether an import stays inside the row's own scope (not listed in the column)."""
        return self.is_package and _within(target, self.scope)

    @property
    def home(self) -> str:
        """Where a file row's name is looked up first: the package its module sits in."""
        if self.path.endswith("__init__.py"):
            return self.scope
        return self.scope.rpartition(".")[0]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_rows(text: str) -> list[Row]:
    """The rows of every table whose last header cell is the import column."""
    rows: list[Row] = []
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if cells[-1] == COLUMN:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            path = re.fullmatch(r"`([^`]+)`", cells[0])
            assert path, f"the first cell names one file or package: {line}"
            names = tuple(re.findall(r"`([^`]+)`", cells[-1]))
            assert names or cells[-1] == NOTHING, f"no names and not {NOTHING!r}: {line}"
            rows.append(Row(path.group(1), names))
    return rows


def resolve(name: str, row: Row, modules: set[str]) -> str | None:
    """A name as the doc defines it: beside a file row's module first, then from the root.

    A package row's column lists only what lies outside the package, so its names are
    read from the root (``testing`` in the ``batching/`` row is not ``batching/testing.py``).
    A package without an ``__init__`` is still a package: a prefix of its modules.
    """
    for base in (NAME,) if row.is_package else (row.home, NAME):
        dotted = f"{base}.{name}"
        if any(_within(module, dotted) for module in modules):
            return dotted
    return None


def _within(target: str, scope: str) -> bool:
    return target == scope or target.startswith(scope + ".")


def row_of(module: str, rows: list[Row]) -> list[Row]:
    """The rows covering a module: its own (a file row), else its package's."""
    own = [row for row in rows if row.scope == module and not row.is_package]
    return own or [row for row in rows if row.is_package and _within(module, row.scope)]


def problems(rows: list[Row], graph: dict[str, set[str]]) -> list[str]:
    """Every way the rows and the graph disagree, one sentence each."""
    found = [f"{m}: no row" for m in sorted(graph) if not row_of(m, rows)]
    found += [f"{m}: {len(r)} rows" for m in sorted(graph) if len(r := row_of(m, rows)) > 1]
    for row in rows:
        members = [m for m in graph if row_of(m, rows) == [row]]
        if not members:
            found.append(f"{row.path}: no such module in the package")
        imported = {t for m in members for t in graph[m] if not row.owns(t)}
        allowed = {name: resolve(name, row, set(graph)) for name in row.names}
        found += [f"{row.path}: {n!r} is no module" for n, a in allowed.items() if a is None]
        scopes = {a for a in allowed.values() if a is not None}
        found += [
            f"{row.path} imports {t.removeprefix(NAME + '.')}, which its row does not name"
            for t in sorted(imported)
            if not any(_within(t, scope) for scope in scopes)
        ]
        found += [
            f"{row.path} names {n!r}, which it does not import"
            for n, a in allowed.items()
            if a is not None and not any(_within(t, a) for t in imported)
        ]
    return found


def test_the_tables_say_what_every_module_imports() -> None:
    rows = parse_rows(DOC.read_text(encoding="utf-8"))
    assert len(rows) > 40  # both tables were read, not an empty match
    assert problems(rows, _graph()) == []


def test_every_router_and_private_module_has_its_own_row() -> None:
    paths = {row.path for row in parse_rows(DOC.read_text(encoding="utf-8"))}
    files = [*(PACKAGE / "router").glob("*.py"), *PACKAGE.glob("_*.py")]
    wanted = {str(path.relative_to(PACKAGE)) for path in files} - {"__init__.py"}
    assert wanted - paths == set()


SAMPLE = """\
| module | what it owns | may import (inside the package) |
|---|---|---|
| `router/_io.py` | steps | `_steps`, `cache` (the key type) |
| `router/_steps.py` | step types | nothing |
| `cache/` | the cache | `metadata` |

| package / module | role |
|---|---|
| `ledger/` | not an import table |
"""

GRAPH = {
    f"{NAME}.router._io": {f"{NAME}.router._steps", f"{NAME}.cache.keys"},
    f"{NAME}.router._steps": set(),
    f"{NAME}.cache": {f"{NAME}.cache.keys"},
    f"{NAME}.cache.keys": {f"{NAME}.metadata"},
    f"{NAME}.metadata": set(),
}


def test_the_sample_table_is_read_as_written() -> None:
    assert parse_rows(SAMPLE) == [
        Row("router/_io.py", ("_steps", "cache")),
        Row("router/_steps.py", ()),
        Row("cache/", ("metadata",)),
    ]


def test_a_matching_table_has_no_problem() -> None:
    rows = [*parse_rows(SAMPLE), Row("metadata.py", ())]
    assert problems(rows, GRAPH) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda g: g[f"{NAME}.router._steps"].add(f"{NAME}.cache.codec"),
            "router/_steps.py imports cache.codec, which its row does not name",
        ),
        (
            lambda g: g[f"{NAME}.router._io"].discard(f"{NAME}.cache.keys"),
            "router/_io.py names 'cache', which it does not import",
        ),
        (
            lambda g: g.update({f"{NAME}.router._new": set()}),
            f"{NAME}.router._new: no row",
        ),
    ],
)
def test_drift_is_reported(change: Callable[[dict[str, set[str]]], object], expected: str) -> None:
    graph = {module: set(edges) for module, edges in GRAPH.items()}
    change(graph)
    rows = [*parse_rows(SAMPLE), Row("metadata.py", ())]
    assert expected in problems(rows, graph)


def test_a_row_for_a_module_that_is_gone_is_reported() -> None:
    rows = [*parse_rows(SAMPLE), Row("metadata.py", ()), Row("router/_old.py", ())]
    assert problems(rows, GRAPH) == ["router/_old.py: no such module in the package"]


def test_a_name_that_is_no_module_is_reported() -> None:
    rows = [Row("router/_io.py", ("_steps", "cache", "CallTrace")), *parse_rows(SAMPLE)[1:]]
    rows.append(Row("metadata.py", ()))
    assert "router/_io.py: 'CallTrace' is no module" in problems(rows, GRAPH)
