"""The numbers a text states, in order, whether written in digits or in English words.

The near-miss guard (`semantic_guard`) requires two texts to state the same numbers.
Digits alone let "book a table for two" answer "book a table for four": the words
around the number are the same, so embeddings rate the texts alike. Number words are
read here as the number they spell, in the canonical form digits get ("two" and "2"
are both ``2``, "twenty-five" is ``25``, "third" is ``3`` as "3rd" is, "a dozen" is
``12``, "two hundred and five" is ``205``, "2.5 million" is ``2500000``).

Covered: zero to nineteen, the tens, hundred, thousand, million, billion, the ordinals
first to tenth (and after a ten, "twenty-first"), dozen and half. Other spellings
("minus five", "twenty percent", "hundreds of") are words like any other; two texts
that differ only there are told apart by the similarity threshold alone.
"""

from __future__ import annotations

import re
from decimal import Decimal

# A number with the sign, operator or currency written before it and a percent sign
# after: "-5" is not "5", "5+3" not "5*3", "$100" not "£100", "20%" not "20".
_DIGITS = re.compile(
    "(?:([-+\u2212*/\u00d7\u00f7^=<>$\u20ac\u00a3\u00a5])\\s?)?(\\d+(?:[.,:/]\\d+)*)(%?)"
)
_SAME_SYMBOL = {"\u2212": "-", "\u00d7": "*", "\u00f7": "/"}  # minus, times, divided by
_LETTERS = re.compile("[A-Za-z]+")
_JOINER = re.compile(r"[\s-]+")  # between the words of one number: "twenty-five"
_PLAIN = re.compile(r"(\D?)(\d+(?:\.\d+)?)")  # what a following "million" multiplies


def _numbered(words: str, values: range) -> dict[str, int]:
    """``words`` (space-separated) paired with ``values``, in order."""
    return dict(zip(words.split(), values, strict=True))


_SMALL = _numbered(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen""",
    range(20),
)
_TENS = _numbered("twenty thirty forty fifty sixty seventy eighty ninety", range(20, 100, 10))
_ORDINALS = _numbered(
    "first second third fourth fifth sixth seventh eighth ninth tenth", range(1, 11)
)
_MULTIPLIERS = {"hundred": 100, "dozen": 12}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
NUMBER_WORDS = frozenset([*_SMALL, *_TENS, *_ORDINALS, *_MULTIPLIERS, *_SCALES, "half"])
"""Every word read as (part of) a number, lowercase."""


def is_number_word(word: str) -> bool:
    """Whether ``word`` (hyphenated parts too: "Twenty-five") only spells a number."""
    return all(part in NUMBER_WORDS for part in word.lower().split("-") if part)


def numbers_in(text: str) -> tuple[str, ...]:
    """The numbers ``text`` states, in the order it states them, each in canonical form."""
    tokens: list[tuple[int, int, str, str | None]] = [
        (match.start(), match.end(), _digit_form(*match.groups("")), None)
        for match in _DIGITS.finditer(text)
    ]
    tokens += _spoken(text)
    numbers: list[tuple[int, str, bool]] = []  # each number's end, form, whether digits
    for start, end, form, word in sorted(tokens, key=lambda token: token[0]):
        multiplier = _MULTIPLIERS.get(word or "") or _SCALES.get(word or "")
        if multiplier and numbers and numbers[-1][2] and not text[numbers[-1][0] : start].strip():
            product = _times(numbers[-1][1], multiplier)  # "2 million", "5 dozen"
            if product is not None:
                numbers[-1] = (end, product, False)
                continue
        numbers.append((end, form, word is None))
    return tuple(form for _, form, _ in numbers)


def _digit_form(symbol: str, digits: str, percent: str) -> str:
    """One number's canonical form: thousands separators dropped, like symbols alike."""
    return _SAME_SYMBOL.get(symbol, symbol) + digits.replace(",", "") + percent


def _times(form: str, multiplier: int) -> str | None:
    """``form`` (digits with a decimal point at most, a sign or currency before them)
    times ``multiplier``, or None for any other form ("1:30", "20%")."""
    plain = _PLAIN.fullmatch(form)
    if plain is None:
        return None
    symbol, digits = plain.groups()
    return symbol + format((Decimal(digits) * multiplier).normalize(), "f")


def _spoken(text: str) -> list[tuple[int, int, str, str | None]]:
    """Each run of number words: its span, its canonical form and, when the run is one
    word, that word (digits just before a "million" or "dozen" are multiplied by it)."""
    runs: list[tuple[int, int, str, str | None]] = []
    words = [(m.start(), m.end(), m.group().lower()) for m in _LETTERS.finditer(text)]
    number: _Number | None = None
    for index, (start, end, word) in enumerate(words):
        if number is not None and word == "and" and number.joins_and(words, index, text):
            number.end = end  # "two hundred and five": the "and" is part of the number
            continue
        joined = number is not None and _JOINER.fullmatch(text[number.end : start]) is not None
        if number is not None and joined and number.takes(word):
            number.add(word, end)
            continue
        if number is not None:
            runs.append(number.result())
            number = None
        if word == "half":
            runs.append((start, end, "0.5", word))
        elif word in NUMBER_WORDS:
            number = _Number(start)
            number.add(word, end)
    if number is not None:
        runs.append(number.result())
    return runs


class _Number:
    """A run of number words being read: "two hundred and five", "twenty-first"."""

    def __init__(self, start: int) -> None:
        self.start = self.end = start
        self.words: list[str] = []
        self.total = self.current = 0
        self.scale = 0  # the last scale word's value: a later one must be smaller

    def takes(self, word: str) -> bool:
        """Whether ``word`` continues this number ("five" after "twenty", not after "two")."""
        last = self.words[-1]
        if word not in NUMBER_WORDS or word == "half":
            return False
        if last in _ORDINALS or last in ("zero", "dozen"):
            return False
        if word in _SCALES:
            return self.scale == 0 or _SCALES[word] < self.scale
        if word in _MULTIPLIERS:
            return (last in _SMALL or last in _TENS) and self.current < 100
        units = _SMALL.get(word, _ORDINALS.get(word, 0))
        if last in _TENS:
            return 0 < units < 10 and word not in _TENS
        return last in _MULTIPLIERS or last in _SCALES

    def joins_and(self, words: list[tuple[int, int, str]], index: int, text: str) -> bool:
        """Whether the "and" at ``index`` joins this number and the next word, as in
        "two hundred and five" (only after hundred or a scale, before a smaller part)."""
        if self.words[-1] not in ("hundred", *_SCALES) or index + 1 >= len(words):
            return False
        and_start, and_end, _ = words[index]
        start, _, following = words[index + 1]
        spaced = _JOINER.fullmatch(text[self.end : and_start]) and _JOINER.fullmatch(
            text[and_end:start]
        )
        smaller = following in _SMALL or following in _TENS or following in _ORDINALS
        return bool(spaced) and smaller

    def add(self, word: str, end: int) -> None:
        self.words.append(word)
        self.end = end
        if word in _SCALES:
            self.total += max(self.current, 1) * _SCALES[word]
            self.current, self.scale = 0, _SCALES[word]
        elif word in _MULTIPLIERS:
            self.current = max(self.current, 1) * _MULTIPLIERS[word]
        else:
            self.current += _SMALL.get(word, _TENS.get(word, _ORDINALS.get(word, 0)))

    def result(self) -> tuple[int, int, str, str | None]:
        single = self.words[0] if len(self.words) == 1 else ""
        return self.start, self.end, str(self.total + self.current), single
