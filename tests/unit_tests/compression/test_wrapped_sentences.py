"""The free rules and the numbers and names checks read a sentence across the soft wraps
of its paragraph (compression/deterministic.py): a random property over wrapped prose,
lists and headings."""

from __future__ import annotations

import random
from dataclasses import dataclass

from langchain_costrouter.compression.deterministic import compress_deterministic
from langchain_costrouter.compression.masking import names_problem, numbers_problem

_CORES = [
    "ship within 2 days of receipt",
    "refund the card within 30 days",
    "call get_user before every reply",
    "answer in the language of the customer",
    "keep replies under 120 words",
    "wait",
    "be kind",
    "log the order",
]
_LEADS = ["always", "you must", "then", "from now on", "for every order"]


@dataclass
class _Unit:
    """A sentence as written (marker, wraps and all), and how the rules may treat it."""

    text: str
    key: tuple[str, ...]  # its words, without marker or full stop, lowercased
    numbered: bool = False


def _sentence(rng: random.Random) -> list[str]:
    core = rng.choice(_CORES).split()
    return (rng.choice(_LEADS).split() if rng.random() < 0.5 else []) + core


def _written(words: list[str], rng: random.Random, indent: str) -> str:
    """The sentence capitalised, closed, and wrapped at random word gaps (often right
    after a lead, so its second line is a sentence said elsewhere)."""
    words = [words[0].capitalize(), *words[1:-1], words[-1] + "."]
    gaps = [" "] * (len(words) - 1)
    for gap in range(len(gaps)):
        if rng.random() < 0.3:
            gaps[gap] = "\n" + indent + rng.choice(["", " "])
    return words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:], strict=True))


def _paragraph(rng: random.Random) -> list[_Unit]:
    kind = rng.choice(["prose", "prose", "bullets", "numbered", "heading"])
    units = [_Unit("## Rules here", ("##", "rules", "here"))] if kind == "heading" else []
    for number in range(1, rng.randint(1, 4) + 1):
        words = _sentence(rng)
        marker = {"bullets": "- ", "numbered": f"{number}. "}.get(kind, "")
        text = marker + _written(words, rng, "  " if marker else "")
        units.append(_Unit(text, tuple(words), numbered=kind == "numbered"))
    return units


def _text(paragraphs: list[list[_Unit]], rng: random.Random) -> str:
    joined = []
    for units in paragraphs:
        lines = "-" in units[-1].text[:2] or units[-1].numbered or units[0].text[0] == "#"
        joined.append(
            "".join(
                (("\n" if lines or rng.random() < 0.5 else " ") if index else "") + unit.text
                for index, unit in enumerate(units)
            )
        )
    return "\n\n".join(joined)


def _kept_whole(paragraphs: list[list[_Unit]], output: str) -> bool:
    """Whether ``output``'s words are the original's sentences, each whole or gone, a
    sentence gone only if said in an earlier paragraph (four words or more, once in its
    own paragraph, not numbered) or in a paragraph said before as a whole."""
    words = output.split()
    reachable = {0}
    said: set[tuple[str, ...]] = set()
    paragraphs_said: set[tuple[str, ...]] = set()
    for units in paragraphs:
        before = set(reachable)
        keys = [unit.key for unit in units]
        for unit in units:
            written = unit.text.split()
            droppable = (
                len(unit.key) >= 4
                and not unit.numbered
                and keys.count(unit.key) == 1
                and unit.key in said
            )
            reachable = {
                position + len(written)
                for position in reachable
                if words[position : position + len(written)] == written
            } | (reachable if droppable else set())
        flat = tuple(word.lower() for unit in units for word in unit.text.split())
        if flat in paragraphs_said:
            reachable |= before
        paragraphs_said.add(flat)
        said.update(keys)
    return len(words) in reachable


def test_no_sentence_of_the_rules_output_lost_its_tail() -> None:
    """A wrapped sentence whose second line is a sentence said before ("Always\\nship
    within 2 days of receipt.") lost that line to the rules, which read line by line,
    and the checks accepted it: the output kept "Always" alone."""
    rng = random.Random(20_240_611)
    shrunk = 0
    for _ in range(400):
        paragraphs = [_paragraph(rng) for _ in range(rng.randint(2, 6))]
        if rng.random() < 0.3:
            paragraphs.append(paragraphs[0])
        text = _text(paragraphs, rng)
        output = compress_deterministic(text)
        assert _kept_whole(paragraphs, output), (text, output)
        assert numbers_problem(text, output) is None, (text, output)
        assert names_problem(text, output) is None, (text, output)
        shrunk += len(output) < len(text)
    assert shrunk > 150
