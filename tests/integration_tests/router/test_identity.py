"""A route's identity in every cache key: no entry serves a child that would answer otherwise.

Two routers over one cache whose children differ in one setting must not share entries;
children that differ only in a credential must (a rotated key is the same model), and no
credential may reach the key's material, the stored entry, the ledger, a log or a repr.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai
import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.cache import ResponseCache, open_cache
from langchain_costrouter.errors import CostRouterError
from langchain_costrouter.openai_compat import MaxTokensChatOpenAI
from langchain_costrouter.routes import Deployment, Route
from langchain_costrouter.testing import LocalOpenAIServer
from tests.server_fixtures import openai_chat

pytestmark = pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.UnknownPriceWarning")


def _ask(cache: ResponseCache, child: Any) -> str:
    router = RoutedChatModel(routes={"chat": [child]}, cache=cache, ledger="memory://")
    return str(router.invoke("same prompt").content)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {"default_headers": {"X-Model-Version": "2024-08-06"}}),
        (
            {"default_headers": {"X-Deployment": "blue"}},
            {"default_headers": {"X-Deployment": "green"}},
        ),
        ({}, {"default_query": {"deployment": "green"}}),
        ({}, {"output_version": "v1"}),
        ({}, {"use_responses_api": False}),
        ({}, {"include_response_headers": True}),
        ({}, {"disabled_params": {"parallel_tool_calls": None}}),
        ({}, {"model_kwargs": {"user": "tenant-7"}}),
        ({}, {"extra_body": {"top_k": 5}}),
        ({}, {"reasoning_effort": "low"}),
        ({}, {"service_tier": "flex"}),
        ({}, {"verbosity": "low"}),
        ({}, {"stop": ["END"]}),
        ({}, {"top_p": 0.5}),
        ({}, {"frequency_penalty": 0.5}),
        ({}, {"presence_penalty": 0.5}),
        ({}, {"seed": 7}),
        ({}, {"logit_bias": {"50256": -100}}),
        ({}, {"temperature": 0.3}),
        ({}, {"max_tokens": 20}),
        ({}, {"logprobs": True}),
    ],
    ids=lambda settings: ",".join(settings) or "defaults",
)
def test_children_that_differ_in_one_setting_never_share_an_entry(
    openai_server: LocalOpenAIServer, first: dict[str, Any], second: dict[str, Any]
) -> None:
    cache = open_cache("memory://")
    _ask(cache, openai_chat(openai_server, **first))
    _ask(cache, openai_chat(openai_server, **second))
    assert openai_server.request_count() == 2


def test_a_child_that_asks_the_responses_api_is_never_served_a_chat_completion(
    openai_server: LocalOpenAIServer,
) -> None:
    """The test server has no /v1/responses: the call fails there, proof it left the cache."""
    cache = open_cache("memory://")
    _ask(cache, openai_chat(openai_server))
    with pytest.raises((CostRouterError, openai.NotFoundError), match="/v1/responses"):
        _ask(cache, openai_chat(openai_server, use_responses_api=True))
    assert openai_server.request_count() == 1


def test_a_child_that_sends_the_cap_as_max_tokens_is_another_child(
    openai_server: LocalOpenAIServer,
) -> None:
    """llama.cpp ignores ``max_completion_tokens``: the subclass's answers are capped."""
    cache = open_cache("memory://")
    _ask(cache, openai_chat(openai_server, max_tokens=20))
    params = {"api_key": "test", "max_retries": 0, "max_tokens": 20}
    _ask(cache, MaxTokensChatOpenAI(model="m", base_url=openai_server.base_url, **params))
    assert openai_server.request_count() == 2


SECRET = "sk-proj-" + "Zq9xW" * 8
OTHER_SECRET = "sk-proj-" + "Yt4vK" * 8
OPAQUE = "a8F3kQ9zL2mX7pR4tV6wY1bN5cD0eG8h"  # no credential's name or prefix; a key's entropy


def _credentials(secret: str, opaque: str) -> dict[str, Any]:
    headers = {
        "Authorization": f"Bearer {secret}",
        "api-key": secret,
        "x-api-key": secret,
        "Ocp-Apim-Subscription-Key": secret,
        "Helicone-Auth": f"Bearer {secret}",
        "X-Gateway": secret,
        "X-Tenant": opaque,
        "X-Model-Version": "2024-08-06",
    }
    return {"default_headers": headers, "default_query": {"key": secret, "sig": opaque}}


def test_credentials_of_a_child_never_reach_its_key_entry_ledger_logs_or_repr(
    openai_server: LocalOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    from langchain_costrouter.router._identity import deployment_form, route_identity

    child = openai_chat(openai_server, **_credentials(SECRET, OPAQUE))
    form = json.dumps(deployment_form(Deployment.of(child)))
    assert "X-Model-Version" in form and "2024-08-06" in form  # the setting is there...
    assert SECRET not in form and OPAQUE not in form  # ...its credentials are not
    rotated = openai_chat(openai_server, **_credentials(OTHER_SECRET, OPAQUE[::-1]))
    assert route_identity(Route.of(child, task="chat")) == route_identity(
        Route.of(rotated, task="chat")
    )
    cache = open_cache("memory://")
    router = RoutedChatModel(routes={"chat": [child]}, cache=cache, ledger="memory://")
    with caplog.at_level(logging.DEBUG, logger="langchain_costrouter"):
        router.invoke("same prompt")
        _ask(cache, rotated)  # a rotated key is the same child: served from the entry
    assert openai_server.request_count() == 1
    stored = [cache.backend.get(key) for key in list(cache.backend._entries)]  # type: ignore[attr-defined]
    shown = [repr(router), str(router), caplog.text, *map(repr, router.ledger_store.rows())]
    for text in [*shown, *(value.decode() for value in stored if value is not None)]:
        assert SECRET not in text and OPAQUE not in text
