"""The worst case of one provider attempt: what a reservation must hold.

Prompt tokens at the input price plus the output cap at the output price. A call
without an output cap (no ``max_tokens``) could in principle answer up to the model's
limit; reserving that would refuse calls long before a budget is spent, so the bound is
learned instead: the largest output this process has seen from the deployment, with a
quarter more as headroom, once it has seen `TRUSTED_AFTER` answers (until then, at least
``first_output_bound``). The maximum is kept in process, not in the store: it costs no
round trip, and each process learns it within its first calls. An answer longer than
the bound settles at its real cost, so spend can pass a limit by at most that one
answer's excess. A deployment seen answering past its cap (a server that ignores
``max_completion_tokens``) loses the cap's trust: its calls reserve at least the learned
bound from then on, as if uncapped. A prompt's images, audio and files count by their
provider's rules (budgets/media.py): text alone would leave an image-heavy call's
reservation short of its bill by thousands of tokens.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Protocol

from langchain_core.messages.ai import InputTokenDetails, UsageMetadata

from langchain_costrouter.budgets.media import NO_MEDIA, MediaTokens
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.pricing import PriceTable

DEFAULT_FIRST_OUTPUT_BOUND = 4096
TRUSTED_AFTER = 20
"""Answers seen before the learned maximum replaces ``first_output_bound``."""
HEADROOM = Decimal("1.25")


class PricedDeployment(Protocol):
    """What pricing needs of a deployment (`langchain_costrouter.routes.Deployment` fits)."""

    @property
    def label(self) -> str: ...

    @property
    def priced_as(self) -> str: ...

    @property
    def provider(self) -> str: ...


class WorstCase:
    """Worst-case cost of an attempt, with a learned output bound per deployment.

    Args:
        prices: The router's price table.
        first_output_bound: Output tokens assumed for an uncapped call before the
            deployment's first answer has been observed.
    """

    def __init__(
        self, prices: PriceTable, *, first_output_bound: int = DEFAULT_FIRST_OUTPUT_BOUND
    ) -> None:
        if first_output_bound < 1:
            raise ConfigError(
                f"must be at least 1, got {first_output_bound}", key="first_output_bound"
            )
        self.prices = prices
        self.first_output_bound = first_output_bound
        self._seen: dict[str, tuple[int, int]] = {}  # deployment -> (answers, largest)
        self._ignores_cap: set[str] = set()  # deployments seen answering past their cap
        self._lock = threading.Lock()

    def usd(
        self,
        deployment: PricedDeployment,
        prompt_tokens: int,
        output_cap: int | None,
        media: MediaTokens = NO_MEDIA,
    ) -> Decimal:
        """Dollars to reserve for one attempt on ``deployment``; ``media`` are the
        prompt's non-text tokens (`budgets.media.media_tokens`), on top of
        ``prompt_tokens``, its audio at the model's audio price where it has one.

        Raises:
            ConfigError: the deployment's model has no price, so no budget can hold it.
        """
        output = self.output_tokens(deployment.label, output_cap)
        prompt = prompt_tokens + media.total
        usage = UsageMetadata(
            input_tokens=prompt, output_tokens=output, total_tokens=prompt + output
        )
        if media.audio:
            usage["input_token_details"] = InputTokenDetails(audio=media.audio)
        priced = self.prices.price(deployment.priced_as, usage, provider=deployment.provider)
        if priced.cost_usd is None:
            model, provider = deployment.priced_as, deployment.provider
            known = media.audio and self.prices.knows(model, provider=provider)
            audio = " for the prompt's audio (input_audio_per_mtok)" if known else ""
            raise ConfigError(
                f"model {model!r} has no price{audio}, so no budget can "
                "reserve its cost. Give it one with PriceTable(overrides={...: "
                "ModelPrice(...)}) or a price in its [models.*] table.",
                key=deployment.label,
            )
        return priced.cost_usd

    def output_tokens(self, deployment: str, output_cap: int | None) -> int:
        """Output tokens to reserve: the cap, unless ``deployment`` ignored caps before."""
        if output_cap is None:
            return self.output_bound(deployment)
        if deployment in self._ignores_cap:
            return max(output_cap, self.output_bound(deployment))
        return output_cap

    def observe(self, deployment: str, output_tokens: int, *, over_cap: bool = False) -> None:
        """Learn from an answer's output tokens (call after every answered attempt).

        ``over_cap``: the answer was longer than its call's cap, so the server ignores caps.
        """
        with self._lock:
            answers, largest = self._seen.get(deployment, (0, 0))
            self._seen[deployment] = (answers + 1, max(largest, output_tokens))
            if over_cap:
                self._ignores_cap.add(deployment)

    def output_bound(self, deployment: str) -> int:
        """Output tokens an uncapped call on ``deployment`` is assumed to need at most."""
        answers, largest = self._seen.get(deployment, (0, 0))
        learned = int(largest * HEADROOM) + 1
        return learned if answers >= TRUSTED_AFTER else max(learned, self.first_output_bound)
