"""Stateless hashed text features of a (query, answer) pair, and answer agreement.

The learned scorer must run at request time on nothing but what a live system sees,
and must be stored as plain JSON. Feature hashing gives both: every feature is a
CRC-32 bucket of a named token, so no vocabulary is stored or fitted and the same
text always lands in the same buckets, in any process. Each block (query words,
answer words, answer characters, answer tail, format flags) is scaled by one over the
square root of its size, so a long prompt does not drown a one-word answer. Only the
end of the query is read: that is where a prompt puts its question, while few-shot
prefixes repeat on every call and carry no per-query signal.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

N_BUCKETS = 2**18
FEATURES_VERSION = 1
_QUERY_CHARS = 600
_ANSWER_CHARS = 3000
_TAIL_CHARS = 200
_SHORT_ANSWER = 40
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_FINAL_MARKERS = ("####", "answer is", "answer:")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def normalize_answer(text: str) -> str:
    """Lower-cased answer with whitespace collapsed and edge punctuation stripped."""
    return " ".join(text.lower().split()).strip(" .,:;!\"'()[]*")


def final_number(text: str) -> str | None:
    """The final numeric answer of a worked solution, commas and trailing zeros removed.

    A number after a final-answer marker ("####", "answer is") wins over the last
    number of the text, which is how graders of GSM8K-like tasks read an answer.
    """
    lowered = text.lower()
    for marker in _FINAL_MARKERS:
        position = lowered.rfind(marker)
        if position >= 0:
            found = _NUMBER.findall(lowered[position:])
            if found:
                return _canonical_number(found[0])
    found = _NUMBER.findall(lowered)
    return _canonical_number(found[-1]) if found else None


def answer_key(text: str) -> str | None:
    """What two answers must share to agree: a short label, else the final number.

    Long answers without a number have no key: their agreement cannot be judged.
    """
    normalized = normalize_answer(text)
    if not normalized:
        return None
    if len(normalized) <= _SHORT_ANSWER:
        return normalized
    return final_number(normalized)


def answers_agree(answer: str, other: str) -> bool | None:
    """Whether two answers agree; None when either has no comparable key."""
    key, other_key = answer_key(answer), answer_key(other)
    if key is None or other_key is None:
        return None
    return key == other_key


def agreement_features(answer: str, previous: Sequence[str]) -> FloatArray:
    """[agrees with the previous tier, disagrees with it]; both 0 when not judgeable."""
    previous_key = answer_key(previous[-1]) if previous else None
    return keys_agreement(answer_key(answer), previous_key)


def keys_agreement(key: str | None, previous_key: str | None) -> FloatArray:
    """`agreement_features` from precomputed answer keys (the search's fast path)."""
    if key is None or previous_key is None:
        return np.zeros(2)
    return np.array([float(key == previous_key), float(key != previous_key)])


def query_ngrams(query: str) -> set[str]:
    """Word uni- and bigrams of the end of the query."""
    return _word_ngrams(query[-_QUERY_CHARS:])


def text_features(
    query: str, answer: str, query_words: set[str] | None = None
) -> tuple[IntArray, FloatArray]:
    """Hashed, block-normalised features of a query and a candidate answer.

    ``query_words`` (from `query_ngrams`) saves re-tokenising a query shared by
    several answers. Returns bucket indices and their values.
    """
    indices, values = feature_lists(query, answer, query_words)
    return np.array(indices, dtype=np.int64), np.array(values, dtype=np.float64)


def feature_lists(
    query: str, answer: str, query_words: set[str] | None = None
) -> tuple[list[int], list[float]]:
    """`text_features` as plain lists: what a batch appends to its buffers."""
    answer_head = answer[:_ANSWER_CHARS]
    normalized = normalize_answer(answer_head)
    if query_words is None:
        query_words = query_ngrams(query)
    blocks = (
        ("q", query_words),
        ("x", _label_crosses(normalized, query_words)),
        ("a", _word_ngrams(answer_head)),
        ("c", _char_ngrams(normalized[: _SHORT_ANSWER * 5])),
        ("t", set(_WORD.findall(answer[-_TAIL_CHARS:].lower()))),
        ("f", _format_flags(answer, normalized)),
    )
    indices: list[int] = []
    values: list[float] = []
    for block, tokens in blocks:
        if tokens:
            # Sorted: a set's order follows Python's per-process string hash salt, and the
            # scores sum the features in this order, so another order is another float.
            indices.extend(sorted(_buckets(block, tokens)))
            values.extend([1.0 / math.sqrt(len(tokens))] * len(tokens))
    return indices, values


def _label_crosses(normalized: str, query_words: set[str]) -> set[str]:
    """Query words crossed with a short answer's label.

    Whether "Yes" is right depends on the question, which a linear model over separate
    query and answer features cannot express; the crosses make the scorer a per-label
    classifier of the query, the strongest signal on classification tasks.
    """
    if not normalized or len(normalized) > _SHORT_ANSWER:
        return set()
    return {f"{normalized}|{word}" for word in query_words}


def _format_flags(answer: str, normalized: str) -> set[str]:
    number = final_number(answer)
    flags = {
        f"len:{(1 + len(answer)).bit_length() - 1}",  # floor(log2), in integers
        f"number:{number is not None}",
        f"marker:{'####' in answer}",
    }
    if not normalized:
        flags.add("empty")
    elif len(normalized) <= _SHORT_ANSWER:
        flags.add(f"label:{normalized}")
    else:
        flags.add(f"first:{normalized.split()[0]}")
    return flags


def _word_ngrams(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    return set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


def _char_ngrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _buckets(block: str, tokens: set[str]) -> list[int]:
    """The bucket of every ``block:token``: one comprehension, not a call per token (a
    function call and a numpy square root per block were half of featurising a short
    pair; `math.sqrt` is as correctly rounded as numpy's)."""
    prefix = f"{block}:"
    return [zlib.crc32((prefix + token).encode("utf-8")) % N_BUCKETS for token in tokens]


def _canonical_number(raw: str) -> str:
    number = raw.replace(",", "")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number or "0"


def query_text(contents: Iterable[str]) -> str:
    """The query side of the features: every message's text, in order."""
    return "\n".join(contents)
