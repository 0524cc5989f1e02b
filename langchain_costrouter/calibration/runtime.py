"""What the router runs: a calibrated policy as quality checks on cascade tiers.

`LearnedScorerCheck` and `TierAgreementCheck` implement the `QualityCheck` protocol
of `langchain_costrouter.checks.base`, so the cascade treats them like any built-in
check: it passes the request messages, the candidate answer and the lower tiers'
answers, and compares the score with the tier's threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter.calibration.features import answers_agree, query_text
from langchain_costrouter.calibration.policy import Policy, StageRule
from langchain_costrouter.calibration.scorer import LinearScorer
from langchain_costrouter.checks.base import BaseCheck, CheckResult, QualityCheck
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import message_logprobs

RouteStage = tuple[BaseChatModel, QualityCheck | None, float]
"""(model, check on its answer or None for the last tier, acceptance threshold)."""


@dataclass(repr=False)
class LearnedScorerCheck(BaseCheck):
    """P(answer is good) from the calibrated hashed-feature scorer of one tier.

    The answer's token log-probabilities are read from its own message
    (`langchain_costrouter.logprobs.message_logprobs`): a scorer that learned to use
    them needs the tier's model to return them (``ChatOpenAI(logprobs=True)``); an
    answer without them is scored as if none had been recorded, not as zero.
    """

    scorer: LinearScorer
    name: str = "learned_scorer"

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Score ``answer``; ``previous`` feeds the agreement part of the scorer."""
        query = query_text(message.text for message in messages)
        previous_texts = [p.text for p in previous]
        logprobs = message_logprobs(answer)
        return CheckResult(self.scorer.score(query, answer.text, previous_texts, logprobs))


@dataclass(repr=False)
class TierAgreementCheck(BaseCheck):
    """1.0 when the answer agrees with the previous tier's (same label or final number).

    Two tiers reaching the same short label or the same final number independently
    is strong evidence; anything else, including answers that cannot be compared,
    scores 0.0 and escalates.
    """

    name: str = "tier_agreement"

    def evaluate(
        self,
        messages: Sequence[BaseMessage],
        answer: AIMessage,
        *,
        previous: Sequence[AIMessage] = (),
    ) -> CheckResult:
        """Compare with the immediately lower tier's answer."""
        agrees = bool(previous) and answers_agree(answer.text, previous[-1].text)
        return CheckResult(1.0 if agrees else 0.0)


def check_for(rule: StageRule) -> QualityCheck:
    """The run-time check of one policy rule."""
    if rule.kind == "scorer" and rule.scorer is not None:
        return LearnedScorerCheck(rule.scorer)
    if rule.kind == "agreement":
        return TierAgreementCheck()
    raise ConfigError(f"no run-time check for rule kind {rule.kind!r}", key="rules")


def policy_to_routes(
    policy: Policy, models: Mapping[str, BaseChatModel]
) -> dict[str, list[RouteStage]]:
    """Per task label, the tiers as (model, check, threshold), cheapest first.

    Raises:
        ConfigError: a tier names a model id that ``models`` does not provide.
    """
    routes: dict[str, list[RouteStage]] = {}
    for task, spec in policy.tasks.items():
        missing = [model for model in spec.tiers if model not in models]
        if missing:
            raise ConfigError(
                f"policy tiers {missing} have no chat model; provided: {sorted(models)}",
                key=f"tasks.{task}.tiers",
            )
        checks: list[QualityCheck | None] = [check_for(rule) for rule in spec.rules]
        checks.append(None)
        thresholds = [rule.threshold for rule in spec.rules] + [0.0]
        routes[task] = [
            (models[model], check, threshold)
            for model, check, threshold in zip(spec.tiers, checks, thresholds, strict=True)
        ]
    return routes
