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


CHECKED = """
[router]
default_task = "chat"
compress = { model = "small", target_ratio = 0.5 }

[providers.local]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"

[models.small]
provider = "local"
model = "gpt-4o-mini"

[models.big]
provider = "local"
model = "gpt-4o"

[routes]
chat = [{ models = ["small"], check = { kind = "non_empty" }, threshold = 0.9 }, "big"]

[routes.classify]
tiers = [
  { models = ["small"], check = { kind = "label_set", labels = ["Yes", "No"] }, threshold = 1.0 },
  "big",
]
max_cost_usd = 0.01
cache = false
"""


def test_routes_show_when_a_tier_escalates_and_each_route_s_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two routes of the same models differ only in their checks, caps and cache: the
    output must tell them apart, or it does not say what the router will do."""
    config = tmp_path / "costrouter.toml"
    config.write_text(CHECKED)
    assert main(["routes", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    chat = next(i for i, line in enumerate(lines) if line.lstrip().startswith("chat "))
    assert lines[chat].endswith("check non_empty >= 0.9, else the next tier")
    assert "check" not in lines[chat + 1]  # the last tier: its answer is served
    classify = "\n".join(lines[lines.index(next(x for x in lines if "classify" in x)) :])
    assert "check label_set >= 1, else the next tier" in classify
    assert "at most $0.01 per request; cache off" in classify
    compression = [line for line in lines if "compression:" in line]
    assert len(compression) == 2  # [router] compress applies to every task
    assert all("compression: small (deterministic, llm) to 50%" in line for line in compression)
    assert main(["routes", "--json", str(config)]) == 0
    options = json.loads(capsys.readouterr().out)["route_options"]
    assert options["chat"]["checks"] == [{"check": "non_empty", "threshold": 0.9}, None]
    assert (options["classify"]["max_cost_usd"], options["classify"]["cache"]) == (0.01, False)
    assert options["chat"]["compression"] == {
        "model": "small",  # the file's name for it, as the tiers show
        "strategies": ["deterministic", "llm"],
        "target_ratio": 0.5,
    }
