"""README's OpenTelemetry tables list exactly the attributes the spans and metrics carry.

A dashboard is built from those tables: an attribute they promise that is never sent is
a panel that stays empty, or a filter that matches nothing. Each span's and metric's
attributes are taken from a call that has every one of them (failed, streamed, priced,
saving by every lever) and compared with its row.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from langchain_openai import ChatOpenAI

from langchain_costrouter.metadata import LEVERS
from langchain_costrouter.routes import Deployment
from langchain_costrouter.telemetry import names as n
from langchain_costrouter.telemetry.calls import AttemptNote, CallTrace
from langchain_costrouter.telemetry.client_metrics import _client_attributes
from langchain_costrouter.telemetry.span_attributes import attempt_attributes, call_attributes

README = Path(__file__).parents[3] / "README.md"


def _rows() -> dict[str, str]:
    """The OpenTelemetry section's table rows: first cell -> last cell."""
    section = README.read_text(encoding="utf-8").split("## OpenTelemetry", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows[cells[0]] = cells[-1]
    return rows


def _documented(cell: str) -> set[str]:
    """The attribute names of a cell: ``.tier`` after a ``costrouter.`` name is
    ``costrouter.tier``; ``{a,b}`` lists several; events are not attributes."""
    names: set[str] = set()
    for token in re.findall(r"`([^`]+)`", cell.split("events")[0]):
        if "." not in token:
            continue  # a value, e.g. `chat`
        name = f"costrouter{token}" if token.startswith(".") else token
        if match := re.fullmatch(r"(.*)\{(.*)\}", name):
            names.update(match[1] + part for part in match[2].split(","))
        else:
            names.add(name)
    return names


def _row(start: str) -> set[str]:
    (cell,) = [cell for name, cell in _rows().items() if name.startswith(start)]
    return _documented(cell)


def _call(*, streaming: bool = True) -> CallTrace:
    return CallTrace(
        "chat",
        streaming=streaming,
        cacheable=True,
        max_tokens=50,
        parent=None,
        content=False,
        report=lambda call, record: None,
    )


def _note() -> AttemptNote:
    child = ChatOpenAI(model="gpt-4o-mini", base_url="https://api.example.com/v1", api_key="k")
    return AttemptNote(
        index=0,
        deployment=Deployment.of(child),
        tier=0,
        streamed=True,
        start_ns=0,
        end_ns=1,
        response_model="gpt-4o-mini-2024-07-18",
        error=RuntimeError("boom"),
        prompt=None,
        answer=None,  # with content traced, gen_ai.output.messages (the text says so)
    )


def test_the_call_span_row_lists_what_the_call_span_carries() -> None:
    record: Any = {
        "status": "failed",
        "cache_hit": True,
        "escalated": True,
        "namespace": "acme",
        "purpose": "production",
        "policy": "p1",
        "served_by": "gpt-4o",
        "cost_usd": 0.1,
        "baseline_cost_usd": 0.2,
        "reference_model": "gpt-4o",
        "run_id": "r",
        "accepted": True,
        "attempts": [{}, {}],
        "savings_usd": dict.fromkeys(LEVERS, 0.01),
    }
    carried = set(call_attributes(_call(), record)) | {n.ERROR_TYPE}  # added on failure
    assert _row("`costrouter.route") == carried


def test_the_attempt_span_row_lists_what_an_attempt_span_carries() -> None:
    attempt: Any = {
        "model": "gpt-4o-mini",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "input_token_details": {"cache_read": 2},
            "output_token_details": {"reasoning": 1},
        },
        "cost_usd": 0.1,
        "price_source": "price_map",
        "accepted": False,
        "score": 0.2,
        "check_reason": "no label",
        "status_code": 500,
        "reason": "escalated: score 0.200 < threshold 0.5 (no label)",
        "error": "APIError",
    }
    call = _call()
    call.content = True  # the check's own reason is shown only then
    carried = set(attempt_attributes(call, _note(), attempt))
    assert _row("`chat {model}`") == carried


def test_the_client_metric_rows_list_what_the_measurements_carry() -> None:
    attributes = _client_attributes(_note(), "APIError")
    assert _row("`gen_ai.client.operation.duration`") == set(attributes.duration)
    assert _row("`gen_ai.client.token.usage`") == set(attributes.input)
    assert set(attributes.input) == set(attributes.output)
