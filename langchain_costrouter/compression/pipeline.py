"""Compressing one text: detect, mask, run the strategies, verify, memoise.

Written as a generator of steps: it yields a `CompressorCall` whenever the LLM strategy
needs the model and receives the model's `AIMessage` back (or the model's exception, thrown
in). The package's two step drivers (`langchain_costrouter._sansio`) perform those calls,
for the `PromptCompressor` runnable and inside a routed call alike, so sync and async
share this one implementation (the httpx ``auth_flow`` pattern).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.exceptions import ModelError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter._lazy import class_if_imported
from langchain_costrouter._provider_replies import failed_reply
from langchain_costrouter._secrets import error_text
from langchain_costrouter.compression import llm as llm_strategy
from langchain_costrouter.compression.deterministic import compress_deterministic
from langchain_costrouter.compression.masking import (
    MaskedText,
    mask,
    names_problem,
    numbers_problem,
    placeholder_problem,
    spans_problem,
    strip_keep_markers,
    unmask,
)
from langchain_costrouter.compression.memo import Memo, MemoEntry, memo_key
from langchain_costrouter.compression.spans import find_protected_spans
from langchain_costrouter.errors import CompressionFailedWarning, CostRouterError
from langchain_costrouter.tokens import count_text

# Failures of the compressor model that leave the prompt uncompressed instead of failing the
# user's call: compression is an optimisation. Anything else is a bug and propagates.
COMPRESSOR_ERRORS = (ModelError, CostRouterError)
# Provider failures raised below LangChain's error types, as the router classifies them
# (router/_faults.py): a body that is not JSON, a transport error, the SDK's own, and a
# 200 carrying an error object or no choices (`_provider_replies`).
_TRANSPORT_ERRORS = (json.JSONDecodeError, ConnectionError, TimeoutError)
_SDK_ERRORS = (("httpx", "TransportError"), ("openai", "APIError"))


def compressor_failed(error: Exception) -> bool:
    """Whether ``error`` is the compressor's provider failing (not a bug in the caller)."""
    if isinstance(error, (*COMPRESSOR_ERRORS, *_TRANSPORT_ERRORS)) or failed_reply(error):
        return True
    loaded = (class_if_imported(module, name) for module, name in _SDK_ERRORS)
    return any(cls is not None and isinstance(error, cls) for cls in loaded)


STRATEGIES = ("deterministic", "llm")
VERIFICATION_VERSION = 10
"""The checks `_verified` makes, what is kept from the compressor and the free rules'
reading of sentences; part of the memo key, so a shared memo (Redis) never serves an entry
the current checks did not pass. Bump it when a check, the protected spans or the free
rules (compression/deterministic.py) change (2: the numbers check; 3: quotations
protected, filler and repeats dropped only where meaning stays; 4: the names check;
5: a number's sign, and a capital moved onto plain words only; 6: a rewrite cut at the
compressor's output cap; 7: the numbers in order, a repeat kept unless its sentence is;
8: the code-like names so too, and a repeat states the same names in the same case;
9: a paragraph the free rules drop as said before, whatever its wrapping, a numbered list
too, may go whole, and a sentence's key ignores its spacing as the rules' does; 10: a
sentence read across the soft wraps of its paragraph, by the rules and the checks, and
only a sentence the rules may drop (four words or more, said once in its paragraph) may
go as said before)."""


@dataclass(frozen=True)
class CompressorCall:
    """A request for the compressor model, yielded by the step generator."""

    messages: list[BaseMessage]
    model: BaseChatModel


@dataclass(frozen=True)
class TextOutcome:
    """The text to send, why it is the original (if it is), and what the compressor said."""

    text: str
    fallback_reason: str | None = None
    compressor_messages: tuple[AIMessage, ...] = ()


@dataclass(frozen=True)
class Settings:
    """The compressor's configuration, as the step generator needs it."""

    strategies: tuple[str, ...]
    target_ratio: float
    min_tokens: int
    protect_patterns: tuple[str | re.Pattern[str], ...] = ()
    llm: BaseChatModel | None = None
    memo: Memo | None = field(default=None, compare=False)

    def fingerprint(self, identifiers: Iterable[str]) -> dict[str, Any]:
        """Everything besides the text that shapes the result, for the memo key."""
        return {
            "strategies": list(self.strategies),
            "target_ratio": self.target_ratio,
            "min_tokens": self.min_tokens,
            "patterns": [getattr(p, "pattern", p) for p in self.protect_patterns],
            "identifiers": sorted(set(identifiers)),
            "model": [type(self.llm).__name__, llm_strategy.model_name(self.llm)]
            if self.llm
            else None,
            "instructions": hashlib.sha256(llm_strategy.INSTRUCTIONS.encode()).hexdigest(),
            "verification": VERIFICATION_VERSION,
        }


Steps = Generator[CompressorCall, AIMessage, TextOutcome]


def compress_text_steps(text: str, settings: Settings, identifiers: Iterable[str] = ()) -> Steps:
    """Compress ``text``; the result keeps every protected span byte-identical or is the original.

    ``<keep>`` markers are removed in every outcome, compressed or not.
    """
    identifiers = tuple(identifiers)
    original, keep_spans = strip_keep_markers(text)
    if not original.strip() or count_text(original) < settings.min_tokens:
        return TextOutcome(original)
    key = memo_key(original, settings.fingerprint(identifiers))
    if "llm" in settings.strategies and settings.memo and (entry := settings.memo.get(key)):
        return TextOutcome(entry.text, entry.fallback_reason)
    spans = find_protected_spans(
        original, patterns=settings.protect_patterns, identifiers=identifiers, extra=keep_spans
    )
    masked = mask(original, spans)
    try:
        compressed, answers = yield from _run_strategies(masked, settings)
    except Exception as error:
        if not compressor_failed(error):
            raise
        return TextOutcome(original, _failed(error, settings.llm))
    outcome = _verified(original, masked, compressed, answers)
    if answers and settings.memo:
        settings.memo.set(key, MemoEntry(outcome.text, outcome.fallback_reason))
    return outcome


def _failed(error: Exception, model: BaseChatModel | None) -> str:
    """Why the text went out whole when the compressor failed, told to the caller once per
    reason (`CompressionFailedWarning`); not memoised, so the next request tries again.
    The provider's message may quote a credential: it is masked (`_secrets.error_text`)."""
    reason = f"compressor failed: {type(error).__name__}: {error_text(error, model)}"
    warnings.warn(
        f"The prompt was sent uncompressed: the {reason}. Check the compressor's model, its "
        "credentials and its rate limits; compression is tried again on the next call.",
        CompressionFailedWarning,
        stacklevel=2,
    )
    return reason


def _run_strategies(
    masked: MaskedText, settings: Settings
) -> Generator[CompressorCall, AIMessage, tuple[str, tuple[AIMessage, ...]]]:
    text = masked.text
    answers: list[AIMessage] = []
    for strategy in settings.strategies:
        if strategy == "deterministic":
            text = compress_deterministic(text)
        elif settings.llm is not None and _prose_tokens(text, masked) >= max(
            1, settings.min_tokens
        ):
            request = llm_strategy.build_request(text, masked.placeholders, settings.target_ratio)
            answer = yield CompressorCall(request, settings.llm)
            answers.append(llm_strategy.accounted(answer, request, settings.llm))
            text = llm_strategy.answer_text(answer)
    return text, tuple(answers)


def _prose_tokens(text: str, masked: MaskedText) -> int:
    """Tokens the model could rewrite: protected spans and outer whitespace left out."""
    for placeholder in masked.placeholders:
        text = text.replace(placeholder, " ")
    return count_text(text.strip())


def _verified(
    original: str, masked: MaskedText, compressed: str, answers: tuple[AIMessage, ...]
) -> TextOutcome:
    """The compressed text if every protected span survived and it is shorter; else the original."""
    problem = _cut_problem(answers) or placeholder_problem(compressed, masked)
    result = unmask(compressed, masked) if problem is None else original
    problem = problem or spans_problem(result, masked.protected)
    problem = problem or numbers_problem(original, result)
    problem = problem or names_problem(original, result)
    if problem is None and not result.strip():
        problem = "the compressed text is empty"
    if problem is None and answers and count_text(result) >= count_text(original):
        problem = "compression saved no tokens"
    if problem is not None:
        return TextOutcome(original, problem, answers)
    return TextOutcome(result, None, answers)


def _cut_problem(answers: tuple[AIMessage, ...]) -> str | None:
    """Why a rewrite cut at the compressor's output cap is not used (see `llm.cut_reason`)."""
    for answer in answers:
        if reason := llm_strategy.cut_reason(answer):
            return f"the compressor's answer was cut at its output cap (finish reason {reason!r})"
    return None
