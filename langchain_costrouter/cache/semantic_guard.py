"""The near-miss guard: similar texts must also agree on numbers, negations and names.

Embeddings rate "refund order 1234" and "refund order 1235" as nearly the same text;
the guard does not. Numbers are read in digits and in English words alike
(`semantic_numbers`): "a table for two" is not "a table for four", and is "a table
for 2". Its signature is also a search key: with the default guard an entry can only
answer a query of the same signature, so a partition looks up the rows of the query's
`signature_hash` instead of ranking a crowd of near misses.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from langchain_costrouter.cache.semantic_numbers import is_number_word, numbers_in

_WORD = re.compile("[^\\W\\d_][\\w'\u2019-]*")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")
_NEGATIONS = frozenset(
    {"no", "not", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without"}
)
_NEGATING_WORDS = {"cannot": "not", "dont": "not", "doesnt": "not", "isnt": "not", "cant": "not"}


def near_miss_guard(query: str, cached: str) -> bool:
    """True when two similar texts also agree on numbers, negations and named entities.

    Numbers must agree in order too ("10 divided by 2" is not "2 divided by 10"), with
    their sign, the operator or currency before them and a percent sign after; number
    words count as the numbers they spell ("two" is "2", "third" is "3rd").
    A capitalised word that opens a sentence may be a name ("Paris hotels near the
    station?") or any word ("Refund order 1234"): each text's such words must occur in
    the other too, in any case, unless they are words any question opens with.

    Limit: a name written in lowercase ("hotels in paris", "hotels in rome") is a word
    like any other to a rule, and no rule tells it from one (a list of places would
    stop at its last entry and catch common words). Such pairs are kept apart by the
    similarity threshold alone: one that lets them through is too low for that task.
    """
    if _signature(query) != _signature(cached):
        return False
    return _openers_occur_in(query, cached) and _openers_occur_in(cached, query)


def _signature(text: str) -> tuple[tuple[str, ...], Counter[str], frozenset[str]]:
    numbers = numbers_in(text)
    negations: Counter[str] = Counter()
    names: set[str] = set()
    for match in _WORD.finditer(text):
        word = match.group()
        negation = _negation(word)
        if negation is not None:
            negations[negation] += 1
        if not word[0].isupper() or word == "I" or is_number_word(word):
            continue  # a number word is compared as a number
        if not _starts_sentence(text, match.start()):
            names.add(word)
    return numbers, negations, frozenset(names)


def _openers_occur_in(text: str, other: str) -> bool:
    """Every capitalised word opening a sentence of ``text`` (not a common opener, not a
    negation: those are compared already) occurs in ``other`` as a word, in any case."""
    words = {word.lower() for word in _WORD.findall(other)}
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper() or not _starts_sentence(text, match.start()):
            continue
        if is_number_word(word):  # compared as a number already
            continue
        lowered = word.lower()
        if lowered not in _OPENERS and _negation(word) is None and lowered not in words:
            return False
    return True


_OPENERS = frozenset(
    """
    a about after all also an and any are as at be because before but by can could did
    do does each every for from had has have he her here his how i if in is it its just
    let lets may might must my now of on only or our please she should since so some tell
    that the their then there these they this those to was we were what when where which
    while who whom whose why will with would yes you your hi hello hey thanks ok okay
    """.split()  # noqa: SIM905 - a word list reads as text
)
"""Words any question or request may open with: never taken for a name there."""


def _negation(word: str) -> str | None:
    """The canonical negation a word carries ("can't", "cannot" and "not" are all "not")."""
    lowered = word.lower().replace("\u2019", "'")
    if lowered.endswith("n't"):
        return "not"
    if lowered in _NEGATIONS:
        return lowered
    return _NEGATING_WORDS.get(lowered)


def _starts_sentence(text: str, position: int) -> bool:
    before = text[:position]
    return not before.strip() or _SENTENCE_END.search(before) is not None


def signature_hash(text: str) -> int:
    """A stable 63-bit digest of the text's guard signature (equal signatures, equal hash)."""
    numbers, negations, names = _signature(text)
    canonical = repr((numbers, sorted(negations.items()), sorted(names)))
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "little") >> 1
