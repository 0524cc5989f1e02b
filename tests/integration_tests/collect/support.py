"""A config file on the test server, and eval sets, for the collect and shadow tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.testing import LocalOpenAIServer

KEY_ENV = "COSTROUTER_TEST_EVAL_KEY"
PRICES = {"weak": (0.15, 0.6), "strong": (2.5, 10.0), "judge": (0.15, 0.6)}


def write_config(
    directory: Path, server: LocalOpenAIServer, *, router: str = "", routes: str = ""
) -> Path:
    """weak, strong and judge on ``server``, priced; ``math = [weak, strong]`` routed."""
    models = "".join(
        f'[models.{name}]\nprovider = "local"\n'
        f"price = {{ input_per_mtok = {i}, output_per_mtok = {o} }}\n"
        for name, (i, o) in PRICES.items()
    )
    text = (
        f"[router]\n{router}\n"
        f'[providers.local]\nbase_url = "{server.base_url}"\napi_key_env = "{KEY_ENV}"\n'
        f'{models}[routes]\nmath = ["weak", "strong"]\ngrading = ["judge"]\n{routes}'
    )
    path = directory / "costrouter.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def write_lines(path: Path, lines: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
