"""A ledger of routed calls whose dollars have more than six decimals, and readers of
the text report's two tables, for the tests that add up what `costrouter report` shows.

Real per-token prices give amounts like $0.0029487: rounded to six decimals each, a
task's levers (0.084388 + 0.002121 + 0.002793) miss its rounded saving (0.089301) by a
micro-dollar, so a table rounded line by line does not add up.
"""

from __future__ import annotations

from decimal import Decimal

from langchain_core.messages import AIMessage

from langchain_costrouter import RoutedChatModel, Tier
from langchain_costrouter.checks import LabelSet
from langchain_costrouter.ledger import Ledger, SummaryRow
from langchain_costrouter.metadata import LEVERS
from langchain_costrouter.testing import ScriptedChatModel


def _answer(text: str, input_tokens: int, output_tokens: int) -> AIMessage:
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    return AIMessage(content=text, usage_metadata=usage)


def record_calls(ledger: str | Ledger, namespace: str = "acme") -> None:
    """Four routed calls of ``namespace`` into ``ledger`` (a URL or an open ledger): an
    escalation, its cache hit, a call the cheap tier answered, and a call of another task
    (list prices of gpt-4o-mini, gpt-4o and the reference gpt-4)."""
    cheap = ScriptedChatModel(
        model="gpt-4o-mini", answers=[_answer("maybe", 1001, 17), _answer("spam", 1003, 9)]
    )
    strong = ScriptedChatModel(
        model="gpt-4o", answers=[_answer("spam", 1001, 13), _answer("hello there", 257, 31)]
    )
    router = RoutedChatModel(
        routes={
            "label": [Tier.of(cheap, check=LabelSet(["spam", "ham"])), strong],
            "chat": [strong],
        },
        default_task="label",
        ledger=ledger,
        cache="memory://",
        reference_model="gpt-4",
        namespace=namespace,
    )
    router.invoke("first?")  # escalated past gpt-4o-mini
    router.invoke("first?")  # the cache hit
    router.invoke("second?")  # answered by gpt-4o-mini
    router.invoke("hi", task="chat")
    if isinstance(ledger, str):
        router.ledger_store.close()
    else:
        ledger.flush()


def main_table(lines: list[str]) -> dict[str, list[str]]:
    """The first table's lines by key: calls, tokens in, tokens out, cost, reference, ..."""
    rule = lines[1]
    end = lines.index(rule, 2)
    return {
        cells[0]: cells[1:] for cells in (line.split() for line in [*lines[2:end], lines[end + 1]])
    }


def lever_table(lines: list[str]) -> dict[str, list[Decimal]]:
    """The savings-by-lever table's lines by key: the five levers, then the saving."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Savings by lever")) + 2
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return {
        cells[0]: [Decimal(cell) for cell in cells[1:]]
        for cells in (line.split() for line in lines[start:end])
    }


def rounded(value: Decimal) -> Decimal:
    """``value`` as a table rounded to six decimals shows it."""
    return value.quantize(Decimal("0.000001"))


def levers_of(row: SummaryRow) -> list[Decimal]:
    """The row's five levers and its saving, as the ledger sums them."""
    amounts = [getattr(row, f"saved_{lever}_usd") for lever in LEVERS]
    return [*amounts, row.savings_usd]
