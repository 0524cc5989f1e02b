"""Answer batch prompts in tests: read the items of a request and reply per id.

The test server's default brain does not understand batch prompts; these helpers let a
test (or a benchmark) plug a per-item answer function into `LocalOpenAIServer` as a
responder, and build deliberately broken answers from the same items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_costrouter.batching.prompt import read_items_text
from langchain_costrouter.testing import Reply, Responder


def request_text(body: dict[str, Any]) -> str:
    """The text of the last user message of a chat completions request body."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not users:
        return ""
    content = users[-1].get("content") or ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def request_items(body: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """The (id, item) pairs of a batch request, or None for any other request."""
    return read_items_text(request_text(body))


def batch_responder(answer: Callable[[Any], Any]) -> Responder:
    """A server responder that answers every batch item with ``answer(item)``.

    Requests that are not batch prompts return None, so the server's brain takes them.
    """

    def respond(body: dict[str, Any]) -> Reply | None:
        items = request_items(body)
        if items is None:
            return None
        return Reply(json.dumps({id_: answer(item) for id_, item in items}, ensure_ascii=False))

    return respond
