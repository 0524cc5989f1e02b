"""Placeholders for protected spans, the user's ``<keep>`` marker, and the final byte check.

The compressor only ever sees prose in which each protected span is replaced by a marker
such as ``[[KEEP_3]]``. Its answer is accepted only if every marker comes back exactly once
and in order; the spans are then put back and checked once more, byte for byte, against the
original, and the prose must state the same numbers and code-like names. Anything else
means the original text is used.

The ``<keep>...</keep>`` marker: wrap any part of a prompt in it to protect that part. The
markers themselves are removed from every text the compressor processes (whether it ends up
compressed or not), so the downstream model never sees them; the content between them is
passed through byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_costrouter.compression.spans import Span

KEEP_OPEN = "<keep>"
KEEP_CLOSE = "</keep>"
_KEEP = re.compile(re.escape(KEEP_OPEN) + r"(.*?)" + re.escape(KEEP_CLOSE), re.DOTALL)


@dataclass(frozen=True)
class MaskedText:
    """Prose with placeholders, and what each placeholder stands for (in order)."""

    text: str
    placeholders: tuple[str, ...]
    protected: tuple[str, ...]
    kinds: tuple[str, ...]


def strip_keep_markers(text: str) -> tuple[str, list[Span]]:
    """Remove ``<keep>``/``</keep>`` pairs; return the text and the spans they enclosed."""
    parts: list[str] = []
    spans: list[Span] = []
    position = length = 0
    for match in _KEEP.finditer(text):
        before, inner = text[position : match.start()], match.group(1)
        spans.append(Span(length + len(before), length + len(before) + len(inner), "keep"))
        parts += [before, inner]
        length += len(before) + len(inner)
        position = match.end()
    parts.append(text[position:])
    return "".join(parts), spans


def mask(text: str, spans: Sequence[Span]) -> MaskedText:
    """Replace each (disjoint, sorted) span by a placeholder that does not occur in ``text``."""
    tag = "KEEP"
    while f"[[{tag}_" in text:
        tag += "X"
    placeholders = tuple(f"[[{tag}_{number}]]" for number in range(1, len(spans) + 1))
    parts: list[str] = []
    position = 0
    for span, placeholder in zip(spans, placeholders, strict=True):
        parts += [text[position : span.start], placeholder]
        position = span.end
    parts.append(text[position:])
    return MaskedText(
        text="".join(parts),
        placeholders=placeholders,
        protected=tuple(text[span.start : span.end] for span in spans),
        kinds=tuple(span.kind for span in spans),
    )


def placeholder_problem(output: str, masked: MaskedText) -> str | None:
    """Why ``output`` cannot be unmasked safely, or None when every marker is intact."""
    previous = -1
    for placeholder, kind in zip(masked.placeholders, masked.kinds, strict=True):
        count = output.count(placeholder)
        if count != 1:
            state = "missing from" if count == 0 else f"repeated {count} times in"
            return f"protected {kind} span {placeholder} {state} the compressed text"
        position = output.find(placeholder)
        if position < previous:
            return f"protected {kind} span {placeholder} moved out of order"
        previous = position
    return None


def unmask(output: str, masked: MaskedText) -> str:
    """Put the protected spans back in place of their placeholders."""
    if not masked.placeholders:
        return output
    by_placeholder = dict(zip(masked.placeholders, masked.protected, strict=True))
    pattern = re.compile("|".join(re.escape(p) for p in masked.placeholders))
    return pattern.sub(lambda match: by_placeholder[match.group()], output)


# A sign that no word or number touches is the number's ("-18", "\u221240", "+3"); the
# dash of a range ("2-8") is not.
_NUMBER = re.compile(r"(?:(?<![\w.,])[-+\u2212])?\d+(?:[.,]\d+)*")
_LIST_NUMBER = re.compile(r"(?m)^[ \t]*\d+[.)](?=\s)")


def numbers_problem(original: str, output: str) -> str | None:
    """Check that ``output`` states the same numbers as ``original``, none lost or new.

    Numbers in prose are not masked (the model must read them in their sentence), so
    a rewrite that turns "within 30 days" into "within 3 days", or invents a limit,
    changes the instructions; list numbering ("1. ", "2) ") may change freely.
    """
    return _difference("number", _numbers(original), _numbers(output))


def _numbers(text: str) -> set[str]:
    """The numbers ``text`` states, list numbering left out; a minus sign is one sign."""
    return {n.replace("\u2212", "-") for n in _NUMBER.findall(_LIST_NUMBER.sub("", text))}


# A name, dotted or not (``config.max_items``); a trailing full stop is the sentence's.
_NAME = re.compile(r"(?<![\w.])[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_CODE_SHAPE = re.compile(r"[^\W_]_|_[^\W_]|[a-z][A-Z]")


def names_problem(original: str, output: str) -> str | None:
    """Check that ``output`` names the same snake_case and camelCase names as ``original``.

    No prose word is spelled so; tools, parameters and fields are, and the compressor is
    not always told them (in ``prompt | compressor | model.bind_tools(...)`` it never is).
    They are checked, not masked, as numbers are: the model reads them in their sentence,
    and a rule restated with the same name may still be dropped.
    """
    return _difference("name", _code_names(original), _code_names(output))


def _difference(kind: str, before: set[str], after: set[str]) -> str | None:
    """The first ``kind`` (a number, a name) the rewrite lost or added, said; else None."""
    if lost := sorted(before - after):
        return f"{kind} {lost[0]} of the original is missing from the compressed text"
    if added := sorted(after - before):
        return f"{kind} {added[0]} in the compressed text is not in the original"
    return None


def _code_names(text: str) -> set[str]:
    return {name for name in _NAME.findall(text) if _CODE_SHAPE.search(name)}


def spans_problem(output: str, protected: Sequence[str]) -> str | None:
    """Check that every protected span occurs byte-identical and in order in ``output``."""
    position = 0
    for number, span in enumerate(protected, start=1):
        found = output.find(span, position)
        if found < 0:
            return f"protected span #{number} is not byte-identical in the compressed text"
        position = found + len(span)
    return None
