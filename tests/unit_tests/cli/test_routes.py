"""``costrouter routes``: the prices it shows are the ones calls are charged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_costrouter.cli import main

CONFIG = """
[router]
default_task = "chat"

[providers.groq]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[providers.perplexity]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[models.llama]
provider = "groq"
model = "llama-3.3-70b-versatile"

[models.sonar]
provider = "perplexity"
model = "sonar"

[routes]
chat = ["llama", "sonar"]
"""


def test_prices_of_models_known_under_their_provider_and_a_request_fee(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    config = tmp_path / "costrouter.toml"
    config.write_text(CONFIG)
    assert main(["routes", "--json", str(config)]) == 0
    tiers = json.loads(capsys.readouterr().out)["routes"]["chat"]
    assert [[model["price"] for model in tier] for tier in tiers] == [
        ["$0.59/$0.79 per M in/out"],  # genai-prices knows it under groq only
        ["$1/$1 per M in/out + $0.012 per request"],  # perplexity's $12 per thousand requests
    ]
