"""Text helpers shared by the checks: how an answer reads once the noise is gone.

Models decorate short answers ("**Yes.**", "Answer: 42", a JSON object in a code
fence); checks compare what the answer says, so they normalise the same way.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from langchain_core.messages import AIMessage

_WHITESPACE = re.compile(r"\s+")
_LEAD_IN = re.compile(
    r"^(?:final\s+answer|answer|label|category|class|output|response)\s*[:=\-]\s*",
    re.IGNORECASE,
)
_DECORATION = " \t\r\n*_`\"'\u201c\u201d\u2018\u2019.,;:!?()[]{}<>"
_CODE_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n(?P<body>.*?)\n?```$", re.DOTALL)
# A number as models write it ("$1,234.50", "-3"); the "-" of a range "3-4" is no sign.
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def answer_text(answer: AIMessage) -> str:
    """The answer's text, whether its content is a string or a list of blocks."""
    return answer.text


def normalise_text(text: str) -> str:
    """Casefold, collapse whitespace and strip decoration, so "**Yes.**" reads "yes"."""
    collapsed = _WHITESPACE.sub(" ", text).strip(_DECORATION)
    return _LEAD_IN.sub("", collapsed).strip(_DECORATION).casefold()


def strip_code_fence(text: str) -> str:
    """The body of a text that is one fenced code block, else the text itself."""
    stripped = text.strip()
    match = _CODE_FENCE.match(stripped)
    return match.group("body") if match else stripped


def last_number(text: str) -> Decimal | None:
    """The last number in ``text``: where reasoning answers state their result.

    Returned as a `Decimal` so "18", "18.0" and "18.00" compare equal without float
    rounding.
    """
    for token in reversed(_NUMBER.findall(text)):
        try:
            return Decimal(token.replace(",", "")).normalize()
        except InvalidOperation:
            continue
    return None
