"""Turn answers into priced attempt records and the call's ``costrouter`` record.

Pure functions over values: the price table is data, usage comes from the
provider (or a flagged tiktoken estimate when it gave none), and one unknown
price makes a total unknown instead of $0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import InputTokenDetails, UsageMetadata

from langchain_costrouter.budgets.media import NO_MEDIA, MediaTokens
from langchain_costrouter.metadata import AttemptRecord, CallStatus, CostRouterMetadata, sum_costs
from langchain_costrouter.pricing import PriceTable, TokenCounts, token_counts
from langchain_costrouter.routes import Deployment
from langchain_costrouter.telemetry.deployments import requested_model
from langchain_costrouter.tokens import count_answer, count_messages

# Providers that report their own charge put it here (ReplayChatModel does).
PROVIDER_COST_KEY = "recorded_cost_usd"
_BASELINES_KEPT = 1024
_UNPRICED = object()


@dataclass(frozen=True)
class Accountant:
    """Prices attempts of one router: its price table and its reference model."""

    prices: PriceTable
    reference_model: str | None
    reference_provider: str | None = None
    """The provider the reference is priced under (a routed model's): genai-prices knows
    some models (Groq's, Perplexity's) under their provider only."""
    _baselines: dict[TokenCounts, Decimal | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Reference costs by token counts: an answered call prices the same counts on the
    reference model twice (its attempt's baseline, then the call's), so the second is
    a lookup. Cleared past `_BASELINES_KEPT` entries."""

    def baseline(self, counts: TokenCounts) -> Decimal | None:
        """What ``counts`` cost on the reference model (None: no reference, or unpriced)."""
        reference = self.reference_model
        if reference is None:
            return None
        cost = self._baselines.get(counts, _UNPRICED)
        if cost is _UNPRICED:
            if len(self._baselines) >= _BASELINES_KEPT:
                self._baselines.clear()
            priced = self.prices.price(reference, counts, provider=self.reference_provider)
            cost = self._baselines[counts] = priced.cost_usd
        return cost  # type: ignore[return-value]

    def attempt(
        self, deployment: Deployment, message: AIMessage, prompt: Sequence[BaseMessage]
    ) -> AttemptRecord:
        """A priced record of one answered attempt (usage estimated if the provider gave none)."""
        # Priced on every call, so written flat: normalised once, priced twice.
        usage, estimated = usage_of(message, prompt)
        counts = token_counts(usage)
        reported = message.response_metadata.get(PROVIDER_COST_KEY)
        cost: Decimal | None
        if reported is not None and isinstance(reported, int | float | str):
            cost, source = Decimal(str(reported)), "provider"
        else:
            cost, source = self.prices.price(
                deployment.priced_as, counts, provider=deployment.provider
            )
        baseline = self.baseline(counts)
        record = AttemptRecord(
            model=deployment.model_id,
            provider=deployment.provider,
            usage=dict(usage),
            cost_usd=_float(cost),
            baseline_cost_usd=_float(baseline),
            price_source=source,  # type: ignore[typeddict-item]
            reason="",
        )
        if deployment.model is not None:  # a side call's model is known by its answer only
            record["request_model"] = requested_model(deployment)
        if type(answered := message.response_metadata.get("model_name")) is str and answered:
            record["response_model"] = answered
        if estimated:
            record["usage_estimated"] = True
        return record

    def side_call(
        self, message: AIMessage, prompt: Sequence[BaseMessage], provider: str
    ) -> AttemptRecord:
        """A priced record of a call made on the router's behalf (a judge, a compressor)."""
        model = str(message.response_metadata.get("model_name") or provider)
        return self.attempt(
            Deployment(model=None, model_id=model, provider=provider),  # type: ignore[arg-type]
            message,
            prompt,
        )

    def deployment_cost(self, deployment: Deployment, counts: TokenCounts) -> Decimal | None:
        """What ``counts`` cost on ``deployment`` by the price table (None: unpriced)."""
        priced = self.prices.price(deployment.priced_as, counts, provider=deployment.provider)
        return priced.cost_usd

    def model_cost(self, model: str | None, counts: TokenCounts) -> Decimal | None:
        """What ``counts`` cost on the model named ``model`` (None: no model, or unpriced)."""
        if model is None:
            return None
        if model == self.reference_model:
            return self.baseline(counts)
        return self.prices.price(model, counts).cost_usd

    def input_cost(self, deployment: Deployment, tokens: int) -> float | None:
        """What ``tokens`` prompt tokens cost on ``deployment``: the worth of tokens not sent.

        Priced from the table even when the provider reports its own charges, because
        tokens that were never sent have no reported charge; None when unpriced. A
        request fee (Perplexity's) is left out: the call was made all the same.
        """
        model, provider = deployment.priced_as, deployment.provider
        usage = UsageMetadata(input_tokens=tokens, output_tokens=0, total_tokens=tokens)
        priced = self.prices.price(model, usage, provider=provider).cost_usd
        fee = self.prices.price(model, None, provider=provider).cost_usd
        return None if priced is None or fee is None else _float(priced - fee)

    def estimate(
        self,
        deployment: Deployment,
        prompt_tokens: int,
        max_tokens: int,
        media: MediaTokens = NO_MEDIA,
    ) -> float | None:
        """Upper estimate of one attempt's cost, for budget decisions: ``media`` are the
        prompt's images, audio and files (`budgets.media.media_tokens`) on top of its
        words, the audio at the model's audio price where it has one."""
        prompt = prompt_tokens + media.total
        usage = UsageMetadata(
            input_tokens=prompt, output_tokens=max_tokens, total_tokens=prompt + max_tokens
        )
        if media.audio:
            usage["input_token_details"] = InputTokenDetails(audio=media.audio)
        priced = self.prices.price(deployment.priced_as, usage, provider=deployment.provider)
        return _float(priced.cost_usd)


def usage_of(message: AIMessage, prompt: Sequence[BaseMessage]) -> tuple[UsageMetadata, bool]:
    """The provider's usage, or a tiktoken estimate flagged as estimated.

    A usage of no tokens at all is no usage: no call has an empty prompt, and servers
    that did not count (some OpenAI-compatible ones) report zeros; taken as given, the
    call would be recorded as free.
    """
    usage = message.usage_metadata
    if usage and (usage.get("input_tokens") or usage.get("output_tokens")):
        return usage, False
    input_tokens = count_messages(prompt)
    output_tokens = count_answer(message)
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    ), True


def call_record(
    *,
    task: str,
    namespace: str,
    attempts: list[AttemptRecord],
    served: AttemptRecord | None,
    accepted: bool,
    cache_hit: bool,
    status: CallStatus = "ok",
    extra: dict[str, Any] | None = None,
) -> CostRouterMetadata:
    """The ``response_metadata["costrouter"]`` record of one routed call (no savings yet).

    ``escalated`` is an event of this call: it tried a tier above the first (whichever
    tier's answer it returned: a best-effort answer of tier 0 after tier 1 was paid for
    escalated too). A tier skipped without a call is no escalation, and a cache hit,
    which replays an answer of whatever tier, escalates nothing: counting it would
    inflate the escalation rate that reports and dashboards show.
    """
    record = CostRouterMetadata(
        record_version=2,
        task=task,
        namespace=namespace,
        status=status,
        cache_hit=cache_hit,
        attempts=attempts,
        cost_usd=sum_costs([a.get("cost_usd") for a in attempts]),
        escalated=not cache_hit and any(_past_first_tier(a) for a in attempts),
        accepted=accepted,
        served_by=served.get("model", "") if served else "",
    )
    if extra:
        record.update(extra)  # type: ignore[typeddict-item]
    return record


def _past_first_tier(attempt: AttemptRecord) -> bool:
    """An answer attempt made (not skipped) on a tier above the first."""
    return (
        (attempt.get("tier") or 0) > 0
        and (attempt.get("role") or "answer") == "answer"
        and not attempt.get("reason", "").startswith("skipped")
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
