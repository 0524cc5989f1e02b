"""What `CostCallbackHandler` knows of a model run: its start, its end, its pricing.

``on_llm_end`` gets no metadata, so the labels a row needs (task, namespace, model,
provider, role) are taken when the run starts and kept until its end
(docs/architecture.md 3.5); rows are made of these in `langchain_costrouter.ledger.llm_result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from uuid import UUID

from langchain_core.messages import BaseMessage

from langchain_costrouter import tokens
from langchain_costrouter.ledger.rows import LedgerRow
from langchain_costrouter.pricing import PriceTable


@dataclass
class RunStart:
    """What a run's start told us; ``on_llm_end`` gets no metadata (docs/architecture.md 3.5)."""

    started: float  # time.perf_counter()
    task: str | None
    namespace: str | None
    model: str | None
    provider: str | None
    prompt: Sequence[BaseMessage] | Sequence[str]
    nested_rows: list[LedgerRow] = field(default_factory=list)
    role: str = "answer"
    """``"compressor"`` for a `PromptCompressor`'s call (its run metadata says so)."""
    parent_run_id: UUID | None = None
    request_model: str | None = None
    """The model id the run sends (`run_labels.request_model`)."""

    def estimated_prompt_tokens(self) -> int:
        """tiktoken estimate of the prompt, for providers that report no usage."""
        if self.prompt and isinstance(self.prompt[0], BaseMessage):
            return tokens.count_messages(cast(Sequence[BaseMessage], self.prompt))
        return sum(tokens.count_text(str(text)) for text in self.prompt)


@dataclass(frozen=True)
class Pricing:
    """How the handler prices rows: a price table and an optional reference model."""

    prices: PriceTable
    reference_model: str | None


@dataclass(frozen=True)
class RunEnd:
    """When and how fast a run ended."""

    run_id: str
    when: datetime
    latency_ms: float
