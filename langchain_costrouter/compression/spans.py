"""Protected-span detection: the parts of a prompt that must reach the model byte for byte.

Compression may only rewrite free prose. Everything a model must read exactly is found here
and later replaced by placeholders, so it is never sent to the compressor at all: code
(fenced, indented, inline), URLs and email addresses, quoted text (a reply to give word
for word, a phrase to translate or to avoid), JSON objects and arrays (schemas included)
and other brace blocks, function/tool signatures, few-shot example blocks, ``<example>``
tags, the identifiers of the call's tools and response format, and whatever the user's
regex list matches. Detection errs on the side of protecting too much: a false
positive costs a few tokens of saving, a false negative could break a tool call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from langchain_costrouter.compression.examples import example_block_spans


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` that must stay byte-identical."""

    start: int
    end: int
    kind: str


_FENCED_CODE = re.compile(
    r"(?ms)^[ \t]{0,3}(?P<fence>`{3,}|~{3,}).*?(?:^[ \t]{0,3}(?P=fence)[ \t]*$|\Z)"
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_INDENTED_LINE = re.compile(r"(?: {4}|\t)\S")
_SIGNATURE = re.compile(
    r"(?m)^[ \t]*(?:(?:async[ \t]+)?(?:def|function|func|fn)[ \t]+\w+[ \t]*\(.*?(?=\n[ \t]*\n|\Z)"
    r"|[-*]?[ \t]*\w+\([^()\n]*\)(?:[ \t]*(?:->|:)[ \t]*[^\n]+)?[ \t]*$)",
    re.DOTALL,
)
# A URL may hold balanced "(...)" pairs, nested once (Wikipedia's
# ``Python_(programming_language)``), as Markdown linkifiers allow, but never an unpaired
# ")": in "(see https://x.org/a)" that one closes the prose. Trailing sentence punctuation
# is left out. Each repetition step takes one char or one whole pair, so a failed match
# cannot backtrack exponentially.
_URL_CHAR = r"[^\s<>()\]]"
_URL_PARENS = rf"\((?:{_URL_CHAR}|\({_URL_CHAR}*\))*\)"
_URL_LAST_CHAR = r"[^\s<>()\].,;:!?'\"]"
_URL_OR_EMAIL = re.compile(
    rf"\bhttps?://{_URL_CHAR}(?:{_URL_CHAR}|{_URL_PARENS})*(?:{_URL_LAST_CHAR}|{_URL_PARENS})"
    r"|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)
_EXAMPLE_TAG = re.compile(r"(?is)<(examples?)\b[^>]*>.*?</\1>")
# A quotation on one line: straight or typographic double quotes, guillemets, and single
# quotes that open after no letter and close before none, so the apostrophes of "don't",
# "customers'" or "'90s" open or close nothing.
# A quotation holds no opener of its own kind, so an unclosed one ends its search at the
# next opener instead of the line's end (linear time in a line of unclosed quotes).
_QUOTED = re.compile(
    r'"[^"\n]+"|\u201c[^\u201c\u201d\n]+\u201d|\u201e[^\u201e\u201c\u201d\n]+[\u201c\u201d]'
    r"|\u00ab[^\u00ab\u00bb\n]+\u00bb|\u2018[^\u2018\n]*?\u2019(?!\w)"
    r"|(?<![\w'])'(?=[^\s'])[^'\n]*?(?<=[^\s'])'(?![\w'])"
)
_BRACKET = re.compile(r"[{\[]")
_BRACE = re.compile(r"[{}]")
_JSON = json.JSONDecoder()


def find_protected_spans(
    text: str,
    *,
    patterns: Sequence[str | re.Pattern[str]] = (),
    identifiers: Iterable[str] = (),
    extra: Iterable[Span] = (),
) -> list[Span]:
    """Every protected span of ``text``, sorted and with overlaps merged.

    Args:
        text: The prompt text (user ``<keep>`` markers already removed).
        patterns: User regexes; each match is protected.
        identifiers: Tool and field names of the call; each whole-word occurrence is protected
            so the prose keeps naming them exactly.
        extra: Spans found elsewhere (the user's ``<keep>`` blocks).
    """
    found = [
        *extra,
        *_regex_spans(_FENCED_CODE, text, "code"),
        *_indented_code_spans(text),
        *_regex_spans(_INLINE_CODE, text, "code"),
        *_regex_spans(_URL_OR_EMAIL, text, "url"),
        *_regex_spans(_QUOTED, text, "quote"),
        *_bracket_spans(text),
        *_regex_spans(_SIGNATURE, text, "signature"),
        *_regex_spans(_EXAMPLE_TAG, text, "example"),
        *(Span(start, end, "example") for start, end in example_block_spans(text)),
        *_pattern_spans(text, patterns),
        *_identifier_spans(text, identifiers),
    ]
    return merge_spans(found)


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sort spans and merge the overlapping ones, so masking sees disjoint ranges."""
    merged: list[Span] = []
    for span in sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


def _regex_spans(pattern: re.Pattern[str], text: str, kind: str) -> Iterator[Span]:
    for match in pattern.finditer(text):
        yield Span(match.start(), match.end(), kind)


def _pattern_spans(text: str, patterns: Sequence[str | re.Pattern[str]]) -> Iterator[Span]:
    for pattern in patterns:
        yield from _regex_spans(re.compile(pattern), text, "pattern")


def _identifier_spans(text: str, identifiers: Iterable[str]) -> Iterator[Span]:
    for name in sorted(set(identifiers)):
        yield from _regex_spans(re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])"), text, "name")


def _indented_code_spans(text: str) -> Iterator[Span]:
    """Markdown indented code: 4-space/tab lines that start after a blank line."""
    start: int | None = None
    end = 0
    previous_blank = True
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if _INDENTED_LINE.match(line) and (start is not None or previous_blank):
            start = offset if start is None else start
            end = offset + len(line.rstrip("\r\n"))
        elif stripped and start is not None:
            yield Span(start, end, "code")
            start = None
        previous_blank = not stripped
        offset += len(line)
    if start is not None:
        yield Span(start, end, "code")


def _bracket_spans(text: str) -> Iterator[Span]:
    """JSON values starting at ``{`` or ``[``, and any other balanced ``{...}`` block.

    A ``{`` that is not valid JSON still marks structure (a JavaScript object, a Python dict,
    a TypeScript signature, a ``{placeholder}``), so a balanced brace block is kept too.
    """
    closers = _brace_closers(text)
    position = 0
    while (start := _next_bracket(text, position)) is not None:
        end = _json_end(text, start)
        kind = "json"
        if end is None and text[start] == "{":
            end, kind = closers.get(start), "braces"
        if end is None:
            position = start + 1
            continue
        yield Span(start, end, kind)
        position = end


def _next_bracket(text: str, position: int) -> int | None:
    match = _BRACKET.search(text, position)
    return match.start() if match else None


def _json_end(text: str, start: int) -> int | None:
    """Where the JSON value at ``start`` ends; None when there is none, or when it nests
    deeper than json's recursive decoder goes (a pasted "[[[[..." is not data to keep)."""
    try:
        _, end = _JSON.raw_decode(text, start)
    except (json.JSONDecodeError, RecursionError):
        return None
    return end


def _brace_closers(text: str) -> dict[int, int]:
    """For each ``{`` that a ``}`` closes, the position after it: one pass for the whole
    text, where matching each brace on its own scanned to the end for every unclosed one
    (quadratic: 96 KB of unclosed braces took minutes)."""
    closers: dict[int, int] = {}
    open_at: list[int] = []
    for match in _BRACE.finditer(text):
        if match.group() == "{":
            open_at.append(match.start())
        elif open_at:
            closers[open_at.pop()] = match.end()
    return closers
