"""A reservation holds a prompt's images as the provider bills them: a call carrying a
2048 x 768 image is billed 1,445 input tokens for it on gpt-4o's rule, and a
reservation that counted its words alone let calls pass the limit, one after another
and more so together.

The real ``ChatOpenAI`` talks to the local server, whose responder bills the image by
OpenAI's tile rule on top of the text it measures.
"""

from __future__ import annotations

import base64
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_costrouter import Budget, ModelPrice, PriceTable, RoutedChatModel
from langchain_costrouter.budgets import CallContext
from langchain_costrouter.errors import BudgetExceededError, BudgetExhaustedError
from langchain_costrouter.routes import Route, Tier
from langchain_costrouter.testing import LocalOpenAIServer, Reply, count_prompt_tokens
from tests.server_fixtures import openai_chat

LIMIT = Decimal("0.01")
PRICES = PriceTable({"m": ModelPrice(input_per_mtok=1, output_per_mtok=1)})
IMAGE_TOKENS = 85 + 170 * 8  # gpt-4o's rule for a 2048 x 768 image: 8 tiles


def png(width: int, height: int) -> str:
    """A PNG's data URL: its header is what the size is read from."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    data = b"\x89PNG\r\n\x1a\n" + ihdr
    return "data:image/png;base64," + base64.b64encode(data).decode()


QUESTION = HumanMessage(
    content=[
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": png(2048, 768)}},
    ]
)


def billed(body: dict[str, Any]) -> Reply:
    """ "a cat", billed the image's tokens when the prompt carries one."""
    image = "image_url" in str(body.get("messages"))
    return Reply("a cat", prompt_tokens=count_prompt_tokens(body) + IMAGE_TOKENS * image)


def _router(server: LocalOpenAIServer) -> RoutedChatModel:
    server.set_responder(billed)
    return RoutedChatModel(
        routes={"vision": [openai_chat(server, "m")]},
        prices=PRICES,
        budgets=[Budget(name="everyone", limit_usd=LIMIT, soft_threshold=None)],
    )


def _until_refused(router: RoutedChatModel) -> int:
    calls = 0
    while True:
        try:
            router.invoke([QUESTION], max_tokens=10)
        except BudgetExhaustedError:
            return calls
        calls += 1


def _spent(router: RoutedChatModel) -> Decimal:
    (status,) = router._current().stages.cascade.budgets.gate.status(CallContext("vision"))
    assert status.reserved_usd == 0
    return status.spent_usd


def test_calls_with_an_image_never_pass_the_limit(openai_server: LocalOpenAIServer) -> None:
    router = _router(openai_server)
    calls = _until_refused(router)
    assert calls >= 5  # each call's ~1,470 prompt tokens cost $0.00147
    assert _spent(router) <= LIMIT


def test_concurrent_calls_with_an_image_never_pass_the_limit_together(
    openai_server: LocalOpenAIServer,
) -> None:
    openai_server.set_latency(0.05)  # calls overlap, as a service's do
    router = _router(openai_server)
    with ThreadPoolExecutor(8) as pool:
        calls = sum(pool.map(lambda _: _until_refused(router), range(8)))
    assert calls >= 5
    assert _spent(router) <= LIMIT


def test_a_route_s_max_cost_counts_the_prompt_s_image(openai_server: LocalOpenAIServer) -> None:
    # The per-request cap estimated the words alone ($0.00004 at $1/M): the call was made
    # and billed $0.00148 for the image's 1,445 tokens, past its max_cost_usd of $0.001.
    openai_server.set_responder(billed)
    cap = 0.001
    route = Route(tiers=(Tier.of(openai_chat(openai_server, "m")),), max_cost_usd=cap)
    router = RoutedChatModel(routes={"vision": route}, prices=PRICES)
    words = router.invoke("What is in this picture?", max_tokens=10)  # the words fit
    assert words.response_metadata["costrouter"]["cost_usd"] < cap
    with pytest.raises(BudgetExceededError, match="max_cost_usd"):
        router.invoke([QUESTION], max_tokens=10)
    assert openai_server.request_count("m") == 1  # the image's call was never made
