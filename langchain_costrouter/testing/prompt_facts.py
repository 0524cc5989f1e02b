"""What the test server's brain reads from a request: the last turn and the values in it.

The brain fabricates tool arguments and JSON from values the user actually wrote (numbers,
quoted strings, proper names), so "What is magic_function(3)?" yields ``{"input": 3}`` the
way a real model would, without any model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_QUOTED = re.compile(
    r"(?<!\w)'([^'\n]+?)'(?!\w)|\"([^\"\n]+?)\""
    r"|\u201c([^\u201d\n]+?)\u201d|\u2018([^\u2019\n]+?)\u2019|\u300c([^\u300d\n]+?)\u300d"
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_CAPITALISED_PHRASE = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+)$")


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer that the conversation ends with."""

    name: str
    content: str


@dataclass(frozen=True)
class PromptFacts:
    """The parts of a request that decide the brain's answer.

    Attributes:
        last_role: Role of the final message (``"user"``, ``"tool"``, ...).
        user_text: Text of the last user message ('' when there is none).
        tool_results: The tool messages at the end of the conversation, in order.
    """

    last_role: str
    user_text: str
    tool_results: tuple[ToolResult, ...]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PromptFacts:
        """Read the facts from a chat completions request body."""
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        user_texts = [message_text(m) for m in messages if m.get("role") == "user"]
        return cls(
            last_role=str(messages[-1].get("role", "")) if messages else "",
            user_text=user_texts[-1] if user_texts else "",
            tool_results=_trailing_tool_results(messages),
        )

    def quoted(self) -> list[str]:
        """Quoted strings of the user's last message, in order."""
        return [
            next(group for group in match.groups() if group)
            for match in _QUOTED.finditer(self.user_text)
        ]

    def numbers(self) -> list[float]:
        """Numbers the user wrote, in order."""
        return [float(match.group(0)) for match in _NUMBER.finditer(self.user_text)]

    def proper_phrases(self) -> list[str]:
        """Capitalised phrases that do not merely start a sentence ("San Francisco")."""
        phrases = []
        for match in _CAPITALISED_PHRASE.finditer(self.user_text):
            phrase = match.group(0)
            if _SENTENCE_START.search(self.user_text[: match.start()]):
                phrase = phrase.partition(" ")[2].strip()
            if phrase:
                phrases.append(phrase)
        return phrases

    def topic(self) -> str:
        """What the message is about: the words after "about", else the message itself."""
        about = re.search(r"\babout\s+([^.?!,\n]+)", self.user_text, re.IGNORECASE)
        if about:
            return about.group(1).strip()
        return self.user_text.strip().rstrip(".?!") or "your request"


def message_text(message: dict[str, Any]) -> str:
    """The text of a message's content, whether a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return " ".join(str(part) for part in parts if part)
    return ""


def _trailing_tool_results(messages: list[dict[str, Any]]) -> tuple[ToolResult, ...]:
    names = _tool_call_names(messages)
    trailing: list[ToolResult] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        name = names.get(str(message.get("tool_call_id")), str(message.get("name") or "tool"))
        trailing.append(ToolResult(name=name, content=message_text(message)))
    return tuple(reversed(trailing))


def _tool_call_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Map each tool call id of the assistant messages to its function name."""
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[str(call.get("id"))] = str(call.get("function", {}).get("name", "tool"))
    return names


def result_value(content: str) -> Any:
    """A tool result's value: ``result`` of a JSON object, the JSON itself, or the text."""
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError:
        return content
    if isinstance(parsed, dict) and "result" in parsed:
        return parsed["result"]
    return parsed
