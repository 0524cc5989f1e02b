"""The configuration file is strict: unknown keys, wrong types and out-of-range values are
ConfigErrors naming the file, the key path and, for a typo, the closest known key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from langchain_costrouter.budgets import urls as budget_urls
from langchain_costrouter.cache import urls as cache_urls
from langchain_costrouter.config import load_router_kwargs
from langchain_costrouter.config_schema import BUDGET_STORE_SCHEMES, CACHE_SCHEMES
from langchain_costrouter.errors import ConfigError, MissingAPIKeyError

GOOD = """
[router]
default_task = "chat"

[providers.local]
base_url = "http://127.0.0.1:9/v1"
api_key_env = "COSTROUTER_TEST_KEY"
timeout = 5

[models.small]
provider = "local"
model = "gpt-4o-mini"

[routes]
chat = ["small"]

[routes.classify]
tiers = [{ models = ["small"], threshold = 0.9, check = { kind = "non_empty" } }]
max_cost_usd = 0.01
"""


def _load(tmp_path: Path, text: str) -> dict[str, object]:
    path = tmp_path / "costrouter.toml"
    path.write_text(text)
    return load_router_kwargs(path)


def _error(tmp_path: Path, old: str, new: str) -> str:
    assert old in GOOD
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, GOOD.replace(old, new, 1))
    message = str(raised.value)
    assert str(tmp_path / "costrouter.toml") in message
    return message


def test_the_good_file_loads(tmp_path: Path) -> None:
    kwargs = _load(tmp_path, GOOD)
    assert kwargs["default_task"] == "chat"
    assert kwargs["routes"]["classify"].max_cost_usd == 0.01  # type: ignore[index]


@pytest.mark.parametrize(
    ("old", "new", "key", "suggestion"),
    [
        ("default_task =", "default_tsk =", "router.default_tsk", "default_task"),
        ("timeout = 5", "timout = 5", "providers.local.timout", "timeout"),
        ('model = "gpt-4o-mini"', 'modle = "gpt-4o-mini"', "models.small.modle", "model"),
        ("max_cost_usd = 0.01", "max_cost = 0.01", "routes.classify.max_cost", "max_cost_usd"),
        ("threshold = 0.9", "threshhold = 0.9", "routes.classify.tiers[0].threshhold", "threshold"),
        ("[routes]", "[rotues.x]\n[routes]", "rotues", "routes"),
        (
            'check = { kind = "non_empty" }',
            'check = { kind = "non_empty", nmae = "x" }',
            "routes.classify.tiers[0].check.nmae",
            "name",
        ),
    ],
)
def test_an_unknown_key_at_any_level_names_the_closest_known_key(
    tmp_path: Path, old: str, new: str, key: str, suggestion: str
) -> None:
    message = _error(tmp_path, old, new)
    assert f"key {key!r}: unknown key; did you mean `{suggestion}`?" in message


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("threshold = 0.9", "threshold = 5", "routes.classify.tiers[0].threshold", "1"),
        ("threshold = 0.9", "threshold = -0.1", "routes.classify.tiers[0].threshold", "0"),
        ("max_cost_usd = 0.01", "max_cost_usd = -1", "routes.classify.max_cost_usd", "than 0"),
        ("max_cost_usd = 0.01", "max_cost_usd = 0", "routes.classify.max_cost_usd", "than 0"),
        ("timeout = 5", "timeout = 0", "providers.local.timeout", "than 0"),
        ('default_task = "chat"', "default_max_tokens = 0", "router.default_max_tokens", "0"),
        ('default_task = "chat"', "max_retries = -1", "router.max_retries", "0"),
        ('model = "gpt-4o-mini"', "context_window = -5", "models.small.context_window", "0"),
        ('default_task = "chat"', "budget_lease_seconds = 0", "router.budget_lease_seconds", "0"),
        (
            'default_task = "chat"',
            "budget_lease_seconds = inf",
            "router.budget_lease_seconds",
            "finite",
        ),
        (
            'default_task = "chat"',
            "budget_lease_seconds = nan",
            "router.budget_lease_seconds",
            "finite",
        ),
    ],
)
def test_ranges_are_checked(tmp_path: Path, old: str, new: str, key: str, expected: str) -> None:
    message = _error(tmp_path, old, new)
    assert f"key {key!r}" in message and expected in message


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("timeout = 5", 'timeout = "soon"', "providers.local.timeout", "expected a number"),
        ("threshold = 0.9", 'threshold = "high"', "threshold", "expected a number"),
        ("max_cost_usd = 0.01", "max_cost_usd = true", "max_cost_usd", "expected a number"),
        ('chat = ["small"]', "chat = 3", "routes.chat", "expected a table"),
        ('chat = ["small"]', "chat = [3]", "routes.chat.tiers[0]", "expected a table"),
        ('chat = ["small"]', "chat = []", "routes.chat.tiers", "at least 1"),
        ('default_task = "chat"', "ledger = 3", "router.ledger", "ledger URL"),
        ('default_task = "chat"', "namespace = 7", "router.namespace", "expected a string"),
        (
            'default_task = "chat"',
            'budget_lease_seconds = "1h"',
            "router.budget_lease_seconds",
            "number",
        ),
        ('default_task = "chat"', 'unknown_task = "x"', "router.unknown_task", "'error'"),
        ('api_key_env = "COSTROUTER_TEST_KEY"', 'api_key_env = "sk-abc"', "api_key_env", "NAME"),
        ('base_url = "http://127.0.0.1:9/v1"', 'base_url = "ftp://x"', "base_url", "http(s)"),
        ('model = "gpt-4o-mini"', "params = 3", "models.small.params", "expected a table"),
        ('model = "gpt-4o-mini"', "params = { temperature = {} }", "params", "ChatOpenAI"),
        ('model = "gpt-4o-mini"', "price = { inptu_per_mtok = 1 }", "price", "input_per_mtok"),
    ],
)
def test_every_wrong_type_is_a_config_error(
    tmp_path: Path, old: str, new: str, key: str, expected: str
) -> None:
    message = _error(tmp_path, old, new)
    assert key in message and expected in message


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('cache = "reddis://:s3cret@localhost"', "router.cache", "scheme 'reddis'; use one of"),
        ('cache = "localhost:6379/s3cret"', "router.cache", "starting with one of memory://"),
        ('budget_store = "mysql://app:s3cret@db/app"', "router.budget_store", "scheme 'mysql'"),
        ('ledger = "s3cret/ledger.sqlite"', "router.ledger", "sqlite:///PATH"),
    ],
)
def test_a_store_url_no_opener_knows_names_the_file_and_key_never_the_url(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    """Checked on reading: the router opens its stores later, where the file is unknown."""
    message = _error(tmp_path, 'default_task = "chat"', f'default_task = "chat"\n{line}')
    assert f"key {key!r}: " in message and expected in message
    assert "s3cret" not in message


def test_store_urls_are_checked_against_the_openers_own_schemes(tmp_path: Path) -> None:
    """The schema's copies of the scheme lists (it imports only `errors`) cannot drift."""
    assert CACHE_SCHEMES == cache_urls.SCHEMES
    assert BUDGET_STORE_SCHEMES == budget_urls.SCHEMES
    urls = 'cache = "Redis://h:6379/0"\nbudget_store = "postgres://h/db"\nledger = "mysql://h/db"'
    kwargs = _load(
        tmp_path, GOOD.replace('default_task = "chat"', f'default_task = "chat"\n{urls}')
    )
    assert (kwargs["cache"], kwargs["budget_store"]) == ("Redis://h:6379/0", "postgres://h/db")


@pytest.mark.parametrize(
    ("price", "key", "expected"),
    [
        ("{}", "models.small.price.input_per_mtok", "missing; this key is required"),
        ("{ input_per_mtok = 1 }", "models.small.price.output_per_mtok", "required"),
        ('{ input_per_mtok = "1", output_per_mtok = 2 }', "price.input_per_mtok", "a number"),
        ("{ input_per_mtok = 1, output_per_mtok = -2 }", "price.output_per_mtok", "0"),
        (
            "{ input_per_mtok = 1, output_per_mtok = 2, cached_input_per_mtok = -1 }",
            "price.cached_input_per_mtok",
            "greater than or equal to 0",
        ),
        ("{ input_per_mtok = nan, output_per_mtok = 2 }", "price.input_per_mtok", "finite"),
        ("{ input_per_mtok = 1, output_per_mtk = 2 }", "price.output_per_mtk", "did you mean"),
    ],
)
def test_a_price_is_two_dollar_amounts_named_by_their_key(
    tmp_path: Path, price: str, key: str, expected: str
) -> None:
    """Dollars per million tokens, each a number >= 0: a price of "1" (a string) or one
    missing its output price is the file's error at that key, not Python's."""
    message = _error(tmp_path, 'model = "gpt-4o-mini"', f"price = {price}")
    assert f"key 'models.small.{key.removeprefix('models.small.')}" in message
    assert expected in message and "ModelPrice" not in message


def test_a_price_in_the_file_is_exact(tmp_path: Path) -> None:
    text = GOOD.replace(
        'model = "gpt-4o-mini"', "price = { input_per_mtok = 0.15, output_per_mtok = 3 }"
    )
    price = _load(tmp_path, text)["prices"].overrides["small"]  # type: ignore[attr-defined]
    assert (price.input_per_mtok, price.output_per_mtok) == (Decimal("0.15"), Decimal(3))


def test_a_price_in_the_file_may_give_audio_rates(tmp_path: Path) -> None:
    """Unset, a call with audio tokens has an unknown cost (pricing/table.py)."""
    price = "price = { input_per_mtok = 1, output_per_mtok = 2, input_audio_per_mtok = 10, "
    text = GOOD.replace('model = "gpt-4o-mini"', price + "output_audio_per_mtok = 20 }")
    table = _load(tmp_path, text)["prices"]
    audio = {"input_tokens": 1000, "output_tokens": 0, "input_token_details": {"audio": 600}}
    assert table.price("small", audio).cost_usd == Decimal("0.0064")  # 400 x 1 + 600 x 10


def test_a_reference_model_that_names_nothing_is_an_error(tmp_path: Path) -> None:
    """A typo left every call's baseline unknown: no saving reported, a warning at the
    first call telling to price a model that does not exist."""
    message = _error(
        tmp_path, 'default_task = "chat"', 'default_task = "chat"\nreference_model = "smal"'
    )
    assert "key 'router.reference_model': " in message and "did you mean `small`?" in message
    for name in ("small", "gpt-4o"):  # a [models.NAME], or a model genai-prices knows
        text = GOOD.replace(
            'default_task = "chat"', f'default_task = "chat"\nreference_model = "{name}"'
        )
        assert _load(tmp_path, text)["reference_model"] in {"gpt-4o-mini", "gpt-4o"}


def test_several_problems_are_counted_in_one_message(tmp_path: Path) -> None:
    message = _error(tmp_path, "timeout = 5", "timeout = 0\nbase = 1")
    assert "(and 1 more: providers.local.base)" in message


def test_names_that_refer_to_nothing_suggest_the_closest(tmp_path: Path) -> None:
    message = _error(tmp_path, 'provider = "local"', 'provider = "locl"')
    assert "models.small.provider" in message and "did you mean `local`?" in message
    message = _error(tmp_path, 'chat = ["small"]', 'chat = ["smal"]')
    assert "routes.chat.tiers[0]" in message and "did you mean `small`?" in message


def test_default_task_must_be_routed(tmp_path: Path) -> None:
    message = _error(tmp_path, 'default_task = "chat"', 'default_task = "chta"')
    assert "key 'router.default_task': 'chta' has no route; routed tasks: chat, classify" in message


def test_a_router_key_is_named_as_the_file_spells_it(tmp_path: Path) -> None:
    """A [router] key broken by a rule the router checks (not the table's shape) is named
    router.KEY, as the file spells it, also when an argument given in code breaks it."""
    from langchain_costrouter import RoutedChatModel
    from langchain_costrouter.testing import ScriptedChatModel

    message = _error(tmp_path, 'default_task = "chat"', 'unknown_task = "default"')
    assert "key 'router.unknown_task': " in message
    path = tmp_path / "costrouter.toml"
    path.write_text(GOOD)  # its default_task, chat, is not a route given in code
    with pytest.raises(ConfigError) as raised:
        RoutedChatModel.from_config(path, routes={"other": ScriptedChatModel(answers=["a"])})
    assert (raised.value.path, raised.value.key) == (str(path), "router.default_task")


def test_with_a_single_route_default_task_is_optional(tmp_path: Path) -> None:
    single = GOOD.replace('default_task = "chat"', "").split("[routes.classify]")[0]
    assert _load(tmp_path, single)["default_task"] == "chat"
    with_two = GOOD.replace('default_task = "chat"', "")
    assert "default_task" not in _load(tmp_path, with_two)


def test_unknown_task_default_needs_a_default_task(tmp_path: Path) -> None:
    text = GOOD.replace('default_task = "chat"', 'unknown_task = "default"')
    with pytest.raises(ConfigError, match="unknown_task"):
        _load(tmp_path, text)


def test_budget_lease_seconds_is_a_router_argument(tmp_path: Path) -> None:
    kwargs = _load(tmp_path, GOOD.replace('default_task = "chat"', "budget_lease_seconds = 1800"))
    assert kwargs["budget_lease_seconds"] == 1800


def test_max_retries_sets_the_router_retry_policy(tmp_path: Path) -> None:
    kwargs = _load(tmp_path, GOOD.replace('default_task = "chat"', "max_retries = 0"))
    assert kwargs["retry"] == {"max_retries": 0}


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "costrouter.toml"
    path.write_bytes(GOOD.encode() + b"\n# caf\xe9\n")
    line = GOOD.count("\n") + 2
    with pytest.raises(ConfigError, match=f"line {line} is not UTF-8 text"):
        load_router_kwargs(path)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_router_kwargs(tmp_path)


def test_the_example_options_shown_in_comments_are_valid(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "costrouter.toml"
    text = example.read_text()
    options = ("# max_retries = 2", '# output_cap_field = "max_tokens"', "# budget_lease_seconds")
    for option in options:
        assert option in text
        text = text.replace(option, option.removeprefix("# "))
    kwargs = _load(tmp_path, text)
    assert kwargs["retry"] == {"max_retries": 2}
    assert kwargs["budget_lease_seconds"] == 1800
    child = kwargs["routes"]["chat"].tiers[0].primary.model  # type: ignore[index]
    assert type(child).__name__ == "MaxTokensChatOpenAI"


SCRIPTED = """
[providers.scripted]
kind = "langchain"
class = "langchain_costrouter.testing:ScriptedChatModel"
params = { answers = ["from the provider"] }

[models.fake]
provider = "scripted"
model = "fake-1"
params = { answers = ["from the model"] }
price = { input_per_mtok = 1, output_per_mtok = 2 }
context_window = 4096
"""


def _with_scripted(old: str = "", new: str = "") -> str:
    """GOOD plus a LangChain-class provider, its model routed as ``fast``."""
    text = GOOD.replace("[routes]\n", SCRIPTED + '\n[routes]\nfast = ["fake"]\n')
    assert old in text
    return text.replace(old, new, 1)


def test_a_langchain_class_provider_builds_its_models(tmp_path: Path) -> None:
    kwargs = _load(tmp_path, _with_scripted())
    deployment = kwargs["routes"]["fast"].tiers[0].primary  # type: ignore[index]
    child = deployment.model
    assert type(child).__name__ == "ScriptedChatModel"
    assert (child.model, child.answers, child.cache) == ("fake-1", ["from the model"], False)
    assert (deployment.provider, deployment.context_window) == ("scripted", 4096)
    assert child.invoke("hi").content == "from the model"


@pytest.mark.parametrize(
    ("old", "new"),
    [  # a dotted path, no kind (a table with `class` is a LangChain class), no model id
        (":ScriptedChatModel", ".ScriptedChatModel"),
        ('kind = "langchain"\n', ""),
        ('model = "fake-1"\nparams = { answers = ["from the model"] }\n', ""),
    ],
)
def test_a_langchain_class_provider_accepts_the_shorter_forms(
    tmp_path: Path, old: str, new: str
) -> None:
    kwargs = _load(tmp_path, _with_scripted(old, new))
    child = kwargs["routes"]["fast"].tiers[0].primary.model  # type: ignore[index]
    assert type(child).__name__ == "ScriptedChatModel"
    assert child.invoke("hi").content in {"from the model", "from the provider"}


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        (
            ":ScriptedChatModel",
            ":ScriptedChatModl",
            "providers.scripted.class",
            "ScriptedChatModel",
        ),
        ("langchain_costrouter.testing:", "no_such_pkg:", "providers.scripted.class", "import"),
        (":ScriptedChatModel", ":LocalOpenAIServer", "providers.scripted.class", "BaseChatModel"),
        ('"langchain_costrouter.testing:ScriptedChatModel"', '"not a class"', "class", "ClassName"),
        ('kind = "langchain"', 'kind = "langchian"', "providers.scripted.kind", "`langchain`"),
        (
            'params = { answers = ["from the model"] }',
            "params = { answers = 3 }",
            "models.fake.params",
            "not accepted by ScriptedChatModel",
        ),
        (
            'params = { answers = ["from the model"] }',
            "params = { answrs = [] }",
            "models.fake.params.answrs",
            "did you mean `answers`?",
        ),
        (
            'params = { answers = ["from the provider"] }',
            "params = { temperature = 1 }",
            "providers.scripted.params.temperature",
            "unknown key",
        ),
        (
            'kind = "langchain"',
            'kind = "langchain"\nmodel_field = "modle"',
            "providers.scripted.model_field",
            "did you mean `model`?",
        ),
        (
            'kind = "langchain"',
            'kind = "langchain"\napi_key_env = "K"\napi_key_field = "key"',
            "providers.scripted.api_key_field",
            "ScriptedChatModel has no field 'key'",
        ),
    ],
)
def test_a_langchain_class_provider_errors_name_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, _with_scripted(old, new))
    assert raised.value.path == str(tmp_path / "costrouter.toml")
    assert key in (raised.value.key or "") and expected in str(raised.value)


def test_a_langchain_class_provider_gets_its_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any class: the key goes in the field ``api_key_field`` names (here a str field)."""
    text = _with_scripted(
        'kind = "langchain"', 'api_key_env = "COSTROUTER_TEST_KEY"\napi_key_field = "provider"'
    )
    monkeypatch.setenv("COSTROUTER_TEST_KEY", "k-123")
    child = _load(tmp_path, text)["routes"]["fast"].tiers[0].primary.model  # type: ignore[index]
    assert child.provider == "k-123"
    monkeypatch.delenv("COSTROUTER_TEST_KEY")
    with pytest.raises(MissingAPIKeyError, match="COSTROUTER_TEST_KEY"):
        _load(tmp_path, text)


def test_a_misspelt_chat_openai_param_is_an_error_not_a_model_kwarg(tmp_path: Path) -> None:
    """ChatOpenAI would send ``temprature`` to the provider with an anonymous warning."""
    message = _error(tmp_path, 'model = "gpt-4o-mini"', "params = { temprature = 0.5 }")
    assert "key 'models.small.params.temprature': unknown key; did you mean `temperature`?" in (
        message
    )


def test_chat_openai_params_take_aliases_and_provider_extras(tmp_path: Path) -> None:
    params = 'params = { max_tokens = 5, stop_sequences = ["x"], model_kwargs = { top_k = 3 }, ' + (
        "extra_body = { min_p = 0.1 } }"
    )
    kwargs = _load(tmp_path, GOOD.replace('model = "gpt-4o-mini"', params))
    child = kwargs["routes"]["chat"].tiers[0].primary.model  # type: ignore[index]
    assert (child.max_tokens, child.model_kwargs, child.extra_body) == (
        5,
        {"top_k": 3},
        {"min_p": 0.1},
    )


@pytest.mark.parametrize(
    ("old", "new", "key", "suggestion"),
    [
        ("[routes", "[route", "route", "routes"),
        ("api_key_env =", "api_keyenv =", "providers.local.api_keyenv", "api_key_env"),
        (
            "[routes]",
            '[[budgets]]\nname = "b"\nlimt_usd = 5\n\n[routes]',
            "budgets[0].limt_usd",
            "limit_usd",
        ),
    ],
)
def test_a_misspelt_required_key_is_named_before_the_missing_one(
    tmp_path: Path, old: str, new: str, key: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, GOOD.replace(old, new))  # every occurrence: [route] and [route.classify]
    message = str(raised.value)
    assert (
        f"key {key!r}: unknown key; did you mean `{suggestion}`? (`{suggestion}` is required"
        in (message)
    )


def test_a_policy_that_cannot_be_read_names_the_config_file_and_key(tmp_path: Path) -> None:
    message = _error(
        tmp_path, 'default_task = "chat"', 'default_task = "chat"\npolicy = "nope.json"'
    )
    assert "key 'router.policy': " in message and "nope.json" in message


def test_the_example_langchain_class_provider_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commented block, uncommented, builds (with an installed class for Anthropic's)."""
    example = Path(__file__).parents[2] / "examples" / "costrouter.toml"
    lines = example.read_text().splitlines()
    start = lines.index("# [providers.anthropic]")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("# price ="))
    block = "\n".join(line.removeprefix("# ").removeprefix("#") for line in lines[start : end + 1])
    block = block.replace("langchain_anthropic:ChatAnthropic", "langchain_openai:ChatOpenAI")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k-test")
    text = GOOD.replace("[routes]\n", f'{block}\n\n[routes]\nfast = ["claude-haiku"]\n')
    child = _load(tmp_path, text)["routes"]["fast"].tiers[0].primary.model  # type: ignore[index]
    assert (child.model_name, child.temperature, child.request_timeout) == (
        "claude-haiku-4-5",
        0,
        60,
    )
    assert child.openai_api_key.get_secret_value() == "k-test"
