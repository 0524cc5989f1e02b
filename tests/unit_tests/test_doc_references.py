"""Docstrings and docs point only at files inside the repository, and the maps match the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "langchain_costrouter"
GONE = "design" + ".md"  # the old design document, which is not in the repository
SOURCES = [*PACKAGE.rglob("*.py"), *(ROOT / "bench").glob("*.py"), ROOT / "README.md"]


def test_nothing_cites_a_design_document_outside_the_repository() -> None:
    citing = [str(p.relative_to(ROOT)) for p in SOURCES if GONE in p.read_text(encoding="utf-8")]
    assert citing == []


def test_every_cited_docs_file_exists() -> None:
    cited = {
        match
        for path in SOURCES
        for match in re.findall(r"(?<![\w/])docs/[\w-]+\.md", path.read_text(encoding="utf-8"))
    }
    assert cited and all((ROOT / name).is_file() for name in cited)


def test_the_readme_and_architecture_name_every_router_module() -> None:
    modules = {p.stem for p in (PACKAGE / "router").glob("_*.py") if p.stem != "__init__"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert {m for m in modules if f"`{m}`" not in readme} == set()
    assert {m for m in modules if f"`router/{m}.py`" not in architecture} == set()
