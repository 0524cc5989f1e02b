"""from_config against the test server: TOML -> ChatOpenAI children, keys from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_costrouter import ConfigError, MissingAPIKeyError, RoutedChatModel
from langchain_costrouter.config import load_models
from langchain_costrouter.errors import ProviderError
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply

CONFIG = """
[router]
default_task = "chat"

[providers.local]
base_url = "{base_url}"
api_key_env = "COSTROUTER_TEST_KEY"
timeout = 5

[models.small]
provider = "local"
model = "gpt-4o-mini"
price = {{ input_per_mtok = 0.15, output_per_mtok = 0.6 }}

[models.big]
provider = "local"
model = "gpt-4o"

[routes]
chat = ["small"]

[[routes.classification.tiers]]
models = ["small"]
threshold = 1.0
check = {{ kind = "label_set", labels = ["Yes", "No"] }}

[[routes.classification.tiers]]
models = ["big"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "costrouter.toml"
    path.write_text(text)
    return path


def test_config_routes_over_http_and_escalates(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test-secret")
    router = RoutedChatModel.from_config(
        _write(tmp_path, CONFIG.format(base_url=openai_server.base_url))
    )
    openai_server.script([Reply("Maybe")], model="gpt-4o-mini")
    openai_server.script([Reply("Yes")], model="gpt-4o")
    message = router.invoke("Is it spam?", task="classification")
    record = message.response_metadata["costrouter"]
    assert message.content == "Yes"
    assert [a["model"] for a in record["attempts"]] == ["small", "big"]
    assert record["attempts"][0]["price_source"] == "override"
    assert record["attempts"][1]["price_source"] == "price_map"  # big = gpt-4o in genai-prices
    assert openai_server.request_count() == 2
    assert "sk-test-secret" not in repr(router) and "sk-test-secret" not in str(router.asdict())


def test_a_key_the_provider_echoes_is_masked_for_a_config_file_s_model(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file's model holds its key as the environment variable's name (read at request
    time), not as a SecretStr; an OpenAI-compatible server that echoes the key it got
    still has it masked in the error (no key shape to catch it: a Groq-style gsk_ key)."""
    key = "gsk_local0123456789abcdef"
    monkeypatch.setenv("COSTROUTER_TEST_KEY", key)
    router = RoutedChatModel.from_config(
        _write(tmp_path, CONFIG.format(base_url=openai_server.base_url))
    )
    openai_server.script([Fault("400", message=f"Invalid API Key: {key}")])
    with pytest.raises(ProviderError) as raised:
        router.invoke("hello")
    assert "Invalid API Key: ***" in str(raised.value) and key not in str(raised.value)


def test_missing_api_key_is_reported_at_first_use_by_name(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COSTROUTER_TEST_KEY", raising=False)
    router = RoutedChatModel.from_config(
        _write(tmp_path, CONFIG.format(base_url=openai_server.base_url))
    )
    with pytest.raises(MissingAPIKeyError, match="COSTROUTER_TEST_KEY") as raised:
        router.invoke("hello")
    assert openai_server.request_count() == 0
    # which file and table name the variable, so a key set under another name is found
    assert f"file {tmp_path / 'costrouter.toml'}" in str(raised.value)
    assert "key 'providers.local.api_key_env'" in str(raised.value)


@pytest.mark.parametrize(
    ("broken", "key"),
    [
        (
            CONFIG.replace(
                'provider = "local"\nmodel = "gpt-4o"', 'provider = "nope"\nmodel = "gpt-4o"'
            ),
            "models.big.provider",
        ),
        (CONFIG.replace('chat = ["small"]', 'chat = ["tiny"]'), "routes.chat.tiers[0]"),
        (
            CONFIG.replace('base_url = "{base_url}"', 'base_url = "ftp://x"'),
            "providers.local.base_url",
        ),
        (
            CONFIG.replace('labels = ["Yes", "No"]', "labels = 3"),
            "routes.classification.tiers[0].check",
        ),
    ],
)
def test_config_errors_name_file_and_key(tmp_path: Path, broken: str, key: str) -> None:
    path = _write(tmp_path, broken.format(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError) as caught:
        RoutedChatModel.from_config(path)
    assert str(path) in str(caught.value) and key in str(caught.value)


@pytest.mark.parametrize(
    ("line", "key"),
    [  # schemes no opener knows (refused as the file is read), then stores that fail to open
        ('cache = "reddis://:s3cret@localhost"', "router.cache"),
        ('ledger = "/var/lib/s3cret.sqlite"', "router.ledger"),
        ('budget_store = "mysql://app:s3cret@db/app"', "router.budget_store"),
        ('cache = "diskcache:///tmp/x?size_limit=lots&password=s3cret"', "router.cache"),
        ('ledger = "sqlite://"', "router.ledger"),
        ('ledger = "mysql://app:s3cret@db/app"', "router.ledger"),  # no driver installed
    ],
)
def test_a_store_the_file_names_wrongly_names_file_and_key_never_the_password(
    tmp_path: Path, line: str, key: str
) -> None:
    text = CONFIG.replace('default_task = "chat"', f'default_task = "chat"\n{line}')
    path = _write(tmp_path, text.format(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError) as caught:
        RoutedChatModel.from_config(path)
    assert caught.value.path == str(path) and caught.value.key == key
    assert "s3cret" not in str(caught.value)


def test_a_store_given_in_code_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG.format(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError) as caught:
        RoutedChatModel.from_config(path, ledger="sqlite://")
    assert (caught.value.path, caught.value.key) == (None, "ledger")


def test_bundled_example_config_builds_every_route() -> None:
    root = Path(__file__).parents[2]
    example = root / "examples" / "costrouter.toml"
    packaged = root / "langchain_costrouter" / "data" / "costrouter.toml"
    assert example.read_bytes() == packaged.read_bytes()
    router = RoutedChatModel.from_config(example)
    assert sorted(router.route_table) == [
        "chat",
        "classification",
        "code",
        "reasoning",
        "summarization",
        "translation",
    ]
    assert router.route_table["classification"].tiers[0].primary.model_id == "Qwen/Qwen3-8B"


@pytest.mark.parametrize("where", ["examples", "langchain_costrouter/data"])
def test_every_model_of_the_bundled_examples_has_a_price_or_says_why(where: str) -> None:
    """Each [models.NAME] is priced: by its price, by genai-prices under the provider's
    model id, or (saying so in a comment of its table) under its name."""
    path = Path(__file__).parents[2] / where / "costrouter.toml"
    deployments = load_models(path)
    prices = RoutedChatModel.from_config(path).prices
    text = path.read_text()
    for name, deployment in deployments.items():
        priced = prices.price(deployment.priced_as, None, provider=deployment.provider)
        assert priced.source in ("override", "price_map"), name
        if priced.source == "price_map" and deployment.price_model is None:
            table = text.split(f'[models."{name}"]')[1].split("\n[")[0]
            assert "# No price" in table and "genai-prices" in table, name


LANGCHAIN_PROVIDER = """
[providers.scripted]
kind = "langchain"
class = "langchain_costrouter.testing:ScriptedChatModel"

[models.fake]
provider = "scripted"
model = "fake-1"
params = {{ answers = ["from the class"] }}
price = {{ input_per_mtok = 1, output_per_mtok = 2 }}
"""


def test_switching_a_route_to_a_langchain_class_provider_is_a_file_edit(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same route, first on the OpenAI-compatible endpoint, then (by editing only the
    file) on a LangChain chat model class: priced and recorded the same way."""
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    text = CONFIG.replace("[routes]", LANGCHAIN_PROVIDER + "\n[routes]")
    openai_server.script([Reply("from the endpoint")], model="gpt-4o-mini")
    before = RoutedChatModel.from_config(
        _write(tmp_path, text.format(base_url=openai_server.base_url))
    )
    assert before.invoke("hello").content == "from the endpoint"

    edited = text.replace('chat = ["small"]', 'chat = ["fake"]')
    after = RoutedChatModel.from_config(
        _write(tmp_path, edited.format(base_url=openai_server.base_url))
    )
    message = after.invoke("hello")
    record = message.response_metadata["costrouter"]
    assert message.content == "from the class"
    assert [(a["model"], a["price_source"]) for a in record["attempts"]] == [("fake", "override")]
    assert openai_server.request_count() == 1


def test_a_langchain_class_that_rejects_its_params_names_file_and_key(tmp_path: Path) -> None:
    text = CONFIG.replace("[routes]", LANGCHAIN_PROVIDER + "\n[routes]")
    path = _write(tmp_path, text.replace('["from the class"]', "3").format(base_url="http://x/v1"))
    with pytest.raises(ConfigError) as caught:
        RoutedChatModel.from_config(path)
    assert (caught.value.path, caught.value.key) == (str(path), "models.fake.params")


def test_a_model_genai_prices_knows_under_its_provider_is_priced(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # genai-prices knows llama-3.3-70b-versatile under groq only ($0.59 in, $0.79 out per
    # million): the config's provider name is what finds it, for the cost and the cap.
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    text = f"""
[router]
default_task = "chat"

[providers.groq]
base_url = "{openai_server.base_url}"
api_key_env = "COSTROUTER_TEST_KEY"

[models.llama]
provider = "groq"
model = "llama-3.3-70b-versatile"

[routes.chat]
tiers = [{{ models = ["llama"] }}]
max_cost_usd = 0.5
"""
    router = RoutedChatModel.from_config(_write(tmp_path, text))
    openai_server.script([Reply("Hi.", prompt_tokens=1000, completion_tokens=1000)])
    (attempt,) = router.invoke("Hello").response_metadata["costrouter"]["attempts"]
    assert (attempt["cost_usd"], attempt["price_source"]) == (0.00138, "price_map")


def test_a_reference_model_named_by_its_models_table_is_priced(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file names models by their [models.NAME] tables: "big" is gpt-4o, whose price
    # the baselines need ($2.50 in, $10 out per million); "big" itself is no price key.
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    text = CONFIG.format(base_url=openai_server.base_url).replace(
        'default_task = "chat"', 'default_task = "chat"\nreference_model = "big"'
    )
    router = RoutedChatModel.from_config(_write(tmp_path, text))
    openai_server.script([Reply("Hi.", prompt_tokens=1000, completion_tokens=100)])
    record = router.invoke("Hello").response_metadata["costrouter"]
    assert record["baseline_cost_usd"] == 0.0035  # 1000 x 2.50 + 100 x 10 per million
    assert record["savings_usd"]["routing"] == 0.00329  # small: 1000 x 0.15 + 100 x 0.60


def test_the_default_reference_of_models_known_under_their_provider_is_priced(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both models are known to genai-prices under groq only: the priciest of them is the
    # reference (llama-3.3-70b-versatile, $0.59 in, $0.79 out per million), priced there.
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    text = f"""
[router]
default_task = "chat"

[providers.groq]
base_url = "{openai_server.base_url}"
api_key_env = "COSTROUTER_TEST_KEY"

[models.small]
provider = "groq"
model = "llama-3.1-8b-instant"

[models.big]
provider = "groq"
model = "llama-3.3-70b-versatile"

[routes]
chat = ["small", "big"]
"""
    router = RoutedChatModel.from_config(_write(tmp_path, text))
    openai_server.script([Reply("Hi.", prompt_tokens=1000, completion_tokens=1000)])
    record = router.invoke("Hello").response_metadata["costrouter"]
    assert record["reference_model"] == "llama-3.3-70b-versatile"
    assert record["baseline_cost_usd"] == 0.00138


STORES = """
cache = "diskcache://cache"
ledger = "sqlite:///ledger.sqlite"
budget_store = "sqlite:///data/budgets.sqlite"
"""
BUDGET = """
[[budgets]]
name = "daily"
limit_usd = 5
period = "day"
"""


def test_relative_store_paths_in_the_file_are_the_file_s_directory_s(
    tmp_path: Path, openai_server: LocalOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path in the file is read against the file's directory (as ``policy`` is), not
    the directory the process happens to run in: a service started from / must not
    write its ledger there, and a second start must find the first one's files."""
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "sk-test")
    conf, elsewhere = tmp_path / "conf", tmp_path / "elsewhere"
    conf.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    text = CONFIG.replace('default_task = "chat"', f'default_task = "chat"{STORES}') + BUDGET
    path = _write(conf, text.format(base_url=openai_server.base_url))
    for answer in ("first", "second"):  # the second start reopens the first's files
        router = RoutedChatModel.from_config(Path("..") / "conf" / path.name)
        openai_server.script([Reply(answer)])
        assert router.invoke("hello").content == "first"  # a cache hit the second time
        router.ledger_store.close()
    assert (conf / "ledger.sqlite").is_file() and (conf / "data" / "budgets.sqlite").is_file()
    assert (conf / "cache").is_dir()
    assert list(elsewhere.iterdir()) == [] and openai_server.request_count() == 1
