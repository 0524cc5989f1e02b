"""A relative store path in a config file is read against the file's directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter._config_paths import anchored_url
from langchain_costrouter.config import load_router_kwargs

BASE = Path("/srv/my app")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///ledger.sqlite", "sqlite:////srv/my%20app/ledger.sqlite"),
        ("sqlite:///data/l.db?timeout=3", "sqlite:////srv/my%20app/data/l.db?timeout=3"),
        ("sqlite+pysqlite:///l.db", "sqlite+pysqlite:////srv/my%20app/l.db"),
        ("diskcache://cache", "diskcache:///srv/my%20app/cache"),
        ("diskcache://./c?size_limit=9", "diskcache:///srv/my%20app/./c?size_limit=9"),
    ],
)
def test_a_relative_path_is_made_absolute_under_the_directory(url: str, expected: str) -> None:
    assert anchored_url(url, BASE) == expected


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/ledger.sqlite",  # absolute
        "sqlite://",  # in memory
        "sqlite:///:memory:",
        "sqlite:///~/ledger.sqlite",  # the ledger expands ~
        "sqlite:///file:l.db?uri=true",
        "diskcache:///var/cache/app",
        "diskcache://",  # a temporary directory
        "memory://",
        "redis://127.0.0.1:6379/0",
        "postgresql://user@db/app",
    ],
)
def test_anything_else_is_left_as_written(url: str) -> None:
    assert anchored_url(url, BASE) == url


def test_the_shadow_store_is_the_file_s_directory_s_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "costrouter.toml"
    path.write_text(
        """
[router]
ledger = "sqlite:///ledger.sqlite"

[router.shadow]
tasks = { chat = 0.1 }
score = "exact"
store = "sqlite:///shadow.sqlite"

[providers.local]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[models.small]
provider = "local"
model = "gpt-4o-mini"

[routes]
chat = ["small"]
"""
    )
    kwargs = load_router_kwargs(Path("conf") / "costrouter.toml")
    assert kwargs["ledger"] == f"sqlite:///{tmp_path}/conf/ledger.sqlite"
    assert kwargs["shadow"].store == f"sqlite:///{tmp_path}/conf/shadow.sqlite"
