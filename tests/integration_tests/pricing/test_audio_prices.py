"""Audio tokens priced at the audio rates, from usage as langchain-openai reports it.

OpenAI bills gpt-4o-audio-preview's audio tokens at $40 (in) and $80 (out) per million
against $2.50 and $10 for text, and gpt-4o-mini-audio-preview's at $10 and $20 against
$0.15 and $0.60; the genai-prices snapshot lists their text rates only. The real
``ChatOpenAI`` reads the local server's ``prompt_tokens_details.audio_tokens`` and
``completion_tokens_details.audio_tokens`` into ``input_token_details.audio`` and
``output_token_details.audio``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.errors import UnknownPriceWarning
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from tests.server_fixtures import openai_chat

# 1000 prompt tokens of which 600 audio, 200 completion tokens of which 150 audio.
AUDIO_REPLY = Reply(
    "ok", prompt_tokens=1000, completion_tokens=200, input_audio_tokens=600, output_audio_tokens=150
)


def _answer(server: LocalOpenAIServer, model: str, streamed: bool) -> AIMessage:
    server.set_responder(lambda _: AUDIO_REPLY)
    router = RoutedChatModel(routes={"chat": [openai_chat(server, model)]}, ledger=None)
    if not streamed:
        return router.invoke("Transcribe this.")
    chunks = list(router.stream("Transcribe this."))
    answer: Any = chunks[0]
    for chunk in chunks[1:]:
        answer += chunk
    return AIMessage(
        content=answer.content,
        usage_metadata=answer.usage_metadata,
        response_metadata=answer.response_metadata,
    )


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize(
    ("model", "dollars"),
    [
        # 400 x 2.5 + 600 x 40 + 50 x 10 + 150 x 80 per million
        ("gpt-4o-audio-preview", "0.0375"),
        ("gpt-4o-audio-preview-2025-06-03", "0.0375"),
        # 400 x 0.15 + 600 x 10 + 50 x 0.6 + 150 x 20 per million
        ("gpt-4o-mini-audio-preview", "0.00909"),
    ],
)
def test_audio_tokens_cost_the_audio_rates(
    openai_server: LocalOpenAIServer, model: str, dollars: str, streamed: bool
) -> None:
    answer = _answer(openai_server, model, streamed)
    usage = answer.usage_metadata
    assert usage is not None
    assert usage.get("input_token_details", {}).get("audio") == 600
    assert usage.get("output_token_details", {}).get("audio") == 150
    record = answer.response_metadata["costrouter"]
    assert Decimal(repr(record["cost_usd"])) == Decimal(dollars)
    assert record["attempts"][0]["price_source"] == "price_map"


def test_audio_tokens_of_a_model_with_no_audio_rate_are_unknown_never_text_priced(
    openai_server: LocalOpenAIServer,
) -> None:
    # The October 2024 snapshot billed audio at other rates than the ones above; none is
    # listed for it, so its call is unknown rather than $0.01275 at the text rates.
    with pytest.warns(UnknownPriceWarning, match="audio"):
        answer = _answer(openai_server, "gpt-4o-audio-preview-2024-10-01", streamed=False)
    record = answer.response_metadata["costrouter"]
    assert record["cost_usd"] is None
    assert record["attempts"][0]["price_source"] == "unknown"
