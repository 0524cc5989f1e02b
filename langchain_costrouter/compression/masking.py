"""Placeholders for protected spans, the user's ``<keep>`` marker, and the final byte check.

The compressor only ever sees prose in which each protected span is replaced by a marker
such as ``[[KEEP_3]]``. Its answer is accepted only if every marker comes back exactly once
and in order; the spans are then put back and checked once more, byte for byte, against the
original, and the prose must state the numbers and code-like names of the original, in
order, a repeated sentence's or paragraph's aside. Anything else means the original text is used.

The ``<keep>...</keep>`` marker: wrap any part of a prompt in it to protect that part. The
markers themselves are removed from every text the compressor processes (whether it ends up
compressed or not), so the downstream model never sees them; the content between them is
passed through byte-identical.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_costrouter.compression.repeats import (
    LIST_NUMBER,
    Reader,
    follows,
    paragraph_items,
)
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


def numbers_problem(original: str, output: str) -> str | None:
    """Check that ``output`` states the numbers of ``original``, in order, none lost or new.

    Numbers in prose are not masked (the model must read them in their sentence), so
    a rewrite that turns "within 30 days" into "within 3 days", invents a limit, or
    swaps two figures ("revenue 5, cost 7" as "revenue 7, cost 5") changes the
    instructions. A sentence or paragraph said before may go with its numbers, as the free
    rules drop it (a numbered step done again may not; a numbered list said again word for
    word as a whole paragraph may); list numbering ("1. ", "2) ") may change freely.
    Neither rewriter reorders: the rules drop whole sentences and paragraphs, and the
    model is told to keep the numbers' order (compression/llm.py).
    """
    return _items_problem("number", original, output, _numbers, _figures)


def _items_problem(
    kind: str, original: str, output: str, read: Reader, read_sentence: Reader
) -> str | None:
    """What ``output`` did to the ``kind``s (numbers, names) of ``original`` that no
    dropping of repeated sentences or paragraphs explains, said; else None. ``read`` finds them in a
    whole text, ``read_sentence`` in one sentence of it, as ``read`` would."""
    said = read(output)
    paragraphs = list(paragraph_items(original, read_sentence))
    if follows(said, paragraphs):
        return None
    stated = read(original)
    needed = Counter(
        item
        for repeated_paragraph, sentences in paragraphs
        if not repeated_paragraph
        for items, repeated in sentences
        if not repeated
        for item in items
    )
    return _difference(kind, set(stated), set(said)) or _sequence_problem(
        kind, stated, said, needed
    )


def _numbers(text: str) -> list[str]:
    """The numbers ``text`` states, list numbering left out; a minus sign is one sign."""
    return _figures(LIST_NUMBER.sub("", text))


def _figures(text: str) -> list[str]:
    return [n.replace("\u2212", "-") for n in _NUMBER.findall(text)]


def _sequence_problem(kind: str, stated: list[str], said: list[str], needed: Counter[str]) -> str:
    """What a rewrite stating the original's items, but not as `repeats.follows` allows, did;
    an item said fewer times than its sentences that are no repeats say it (``needed``)
    is named first, as one whose repeats alone went is no loss."""
    before, after = Counter(stated), Counter(said)
    more = next((item for item in said if after[item] > before[item]), None)
    if more is not None:
        return (
            f"{kind} {more} is stated {_times(after[more])} in the compressed text and "
            f"{_times(before[more])} in the original"
        )
    if reordered := _reordering(kind, stated, said):
        return reordered
    fewer = next((item for item in stated if after[item] < needed[item]), None)
    fewer = fewer or next(item for item in stated if after[item] < before[item])
    return (
        f"{kind} {fewer} is stated {_times(before[fewer])} in the original and "
        f"{_times(after[fewer])} in the compressed text; only a repeated sentence's {kind}s may go"
    )


def _reordering(kind: str, stated: list[str], said: list[str]) -> str | None:
    """Where ``said`` leaves the order of ``stated``: first as the items first appear
    (a rewrite saying a repeated rule once may still swap two), then as they all do."""
    for before, after in ((list(dict.fromkeys(stated)), list(dict.fromkeys(said))), (stated, said)):
        remaining = iter(before)
        for index, item in enumerate(after):
            if item not in remaining:  # after[0] is always found: no item is new
                order = "out of the original's order"
                return f"the compressed text states {kind} {item} after {after[index - 1]}, {order}"
    return None


def _times(count: int) -> str:
    return "1 time" if count == 1 else f"{count} times"


# A name, dotted or not (``config.max_items``); a trailing full stop is the sentence's.
_NAME = re.compile(r"(?<![\w.])[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_CODE_SHAPE = re.compile(r"[^\W_]_|_[^\W_]|[a-z][A-Z]")


def names_problem(original: str, output: str) -> str | None:
    """Check that ``output`` names the snake_case and camelCase names of ``original``, in
    order, none lost or new.

    No prose word is spelled so; tools, parameters and fields are, and the compressor is
    not always told them (in ``prompt | compressor | model.bind_tools(...)`` it never is).
    They are checked, not masked, as numbers are: the model reads them in their sentence,
    and a rule restated with the same name may still be dropped with its names. As with
    numbers, a mention dropped elsewhere may be a rule of its own ("never call delete_user
    for a guest"), and two names swapped swap roles ("copy source_path to target_path").
    """
    return _items_problem("name", original, output, code_names, code_names)


def _difference(kind: str, before: set[str], after: set[str]) -> str | None:
    """The first ``kind`` (a number, a name) the rewrite lost or added, said; else None."""
    if lost := sorted(before - after):
        return f"{kind} {lost[0]} of the original is missing from the compressed text"
    if added := sorted(after - before):
        return f"{kind} {added[0]} in the compressed text is not in the original"
    return None


def code_names(text: str) -> list[str]:
    """The snake_case and camelCase names ``text`` states, in order (`names_problem`)."""
    return [name for name in _NAME.findall(text) if _CODE_SHAPE.search(name)]


def spans_problem(output: str, protected: Sequence[str]) -> str | None:
    """Check that every protected span occurs byte-identical and in order in ``output``."""
    position = 0
    for number, span in enumerate(protected, start=1):
        found = output.find(span, position)
        if found < 0:
            return f"protected span #{number} is not byte-identical in the compressed text"
        position = found + len(span)
    return None
