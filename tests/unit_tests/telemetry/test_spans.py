"""The compression span says why compression fell back, never with the prompt's words."""

from __future__ import annotations

import warnings

import pytest
from langchain_core.exceptions import ModelAPIError

from langchain_costrouter import AllTiersFailedError, PromptCompressor, RetryPolicy, RoutedChatModel
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


def test_a_failed_calls_span_names_no_served_model(otel: Otel) -> None:
    # No tier answered: the record's served_by is "", which the span carried as
    # costrouter.served_model = "" (a model named "" on every dashboard of failures).
    failing = [ScriptedChatModel(model=m, answers=[ModelAPIError("down")]) for m in ("a", "b")]
    router = RoutedChatModel(
        routes={"chat": failing},
        retry=RetryPolicy(max_retries=0, backoff_base=0.0, backoff_cap=0.0),
        telemetry=otel.providers,
    )
    with pytest.raises(AllTiersFailedError):
        router.invoke("Is it spam?")
    (call,) = otel.spans("costrouter.route chat")
    assert call.attributes is not None
    assert call.attributes["costrouter.status"] == "failed"
    assert "costrouter.served_model" not in call.attributes
    assert "" not in call.attributes.values()
    attempts = otel.spans("chat ")
    assert [span.attributes and span.attributes["gen_ai.request.model"] for span in attempts] == [
        "a",
        "b",
    ]
    assert all(
        span.attributes and "gen_ai.response.model" not in span.attributes for span in attempts
    )
