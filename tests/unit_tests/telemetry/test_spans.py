"""The compression span says why compression fell back, never with the prompt's words."""

from __future__ import annotations

import warnings

import pytest
from langchain_core.exceptions import ModelAPIError

from langchain_costrouter import PromptCompressor, RoutedChatModel
from langchain_costrouter.testing.models import ScriptedChatModel
from tests.otel_fixtures import Otel

SECRET = "ACCOUNT-8841-2277"
PROMPT = f"Please note that my account {SECRET} has pin 4242. " * 40 + "Is it spam?"


def _fallback_reason(otel: Otel, compressor_answer: object, *, content: bool) -> str:
    compressor = PromptCompressor(
        ScriptedChatModel(model="gpt-4o-mini", answers=[compressor_answer]),
        strategies=("llm",),
        min_tokens=20,
    )
    router = RoutedChatModel(
        routes={"chat": [ScriptedChatModel(model="gpt-4o-mini", answers=["No"])]},
        compressors={"chat": compressor},
        telemetry=otel.providers,
        trace_content=content,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the compressor's failure is warned of too
        router.invoke(PROMPT)
    (span,) = otel.spans("costrouter.compress chat")
    otel.exporter.clear()
    assert span.attributes is not None
    return str(span.attributes["costrouter.compression.fallback_reason"])


PROMPT_WORDS = (SECRET, "8841", "2277", "4242", "Please note")


@pytest.mark.parametrize(
    ("answer", "kind"),
    [  # a provider's error quoting the request; a verification naming a lost number
        (ModelAPIError(f"Invalid prompt: {PROMPT[:80]!r}"), "compressor failed: ModelAPIError"),
        ("Is it spam?", "a number of the original is missing"),
    ],
)
def test_a_fallback_reason_quotes_the_prompt_only_with_content_traced(
    otel: Otel, answer: object, kind: str
) -> None:
    quiet = _fallback_reason(otel, answer, content=False)
    assert kind in quiet and not any(word in quiet for word in PROMPT_WORDS), quiet
    told = _fallback_reason(otel, answer, content=True)
    assert any(word in told for word in PROMPT_WORDS), told
