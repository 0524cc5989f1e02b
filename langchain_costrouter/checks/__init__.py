"""Quality checks: score a candidate answer in [0, 1] so the cascade can accept or escalate.

Free checks look at the text (`NonEmpty`, `NotRefusal`, `LabelSet`, `RegexMatch`,
`LengthBounds`) or its structure (`ValidJSON`, `JSONSchemaCheck`, `PydanticCheck`,
`ToolCallCheck`); `Agreement` compares with the previous tier; paid ones ask a
model (`JudgeCheck`) or an embedding service (`EmbeddingSimilarity`);
`FunctionCheck` plugs in any scorer, such as a learned one. `AllOf`, `AnyOf` and
`Weighted` compose them, and `check_from_config` builds them from a config table.

Every check implements one protocol, `QualityCheck`: `evaluate`/`aevaluate` return a
`CheckResult` (score, reason, and the side calls' messages for the ledger). `BaseCheck`
gives a check that does no I/O its async twin.
"""

from typing import TYPE_CHECKING

from langchain_costrouter._lazy import lazy_exports

# Lazy (PEP 562): the cascade needs `checks.base` alone; the judge and embedding checks
# bring more of langchain-core, loaded when a route uses them.
if TYPE_CHECKING:
    from langchain_costrouter.checks.agreement import Agreement
    from langchain_costrouter.checks.base import BaseCheck, CheckResult, QualityCheck
    from langchain_costrouter.checks.compose import AllOf, AnyOf, Weighted
    from langchain_costrouter.checks.embedding import EmbeddingSimilarity, cosine_similarity
    from langchain_costrouter.checks.from_config import check_from_config
    from langchain_costrouter.checks.function import FunctionCheck
    from langchain_costrouter.checks.heuristics import (
        LabelSet,
        LengthBounds,
        NonEmpty,
        NotRefusal,
        RegexMatch,
    )
    from langchain_costrouter.checks.json_schema import SchemaValidator
    from langchain_costrouter.checks.judge import (
        DEFAULT_JUDGE_PROMPT,
        JudgeCheck,
        parse_judge_score,
    )
    from langchain_costrouter.checks.structured import (
        JSONSchemaCheck,
        PydanticCheck,
        ToolCallCheck,
        ValidJSON,
    )
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "langchain_costrouter.checks.agreement": ("Agreement",),
            "langchain_costrouter.checks.base": ("BaseCheck", "CheckResult", "QualityCheck"),
            "langchain_costrouter.checks.compose": ("AllOf", "AnyOf", "Weighted"),
            "langchain_costrouter.checks.embedding": ("EmbeddingSimilarity", "cosine_similarity"),
            "langchain_costrouter.checks.from_config": ("check_from_config",),
            "langchain_costrouter.checks.function": ("FunctionCheck",),
            "langchain_costrouter.checks.heuristics": (
                "LabelSet",
                "LengthBounds",
                "NonEmpty",
                "NotRefusal",
                "RegexMatch",
            ),
            "langchain_costrouter.checks.json_schema": ("SchemaValidator",),
            "langchain_costrouter.checks.judge": (
                "DEFAULT_JUDGE_PROMPT",
                "JudgeCheck",
                "parse_judge_score",
            ),
            "langchain_costrouter.checks.structured": (
                "JSONSchemaCheck",
                "PydanticCheck",
                "ToolCallCheck",
                "ValidJSON",
            ),
        },
    )

__all__ = [
    "DEFAULT_JUDGE_PROMPT",
    "Agreement",
    "AllOf",
    "AnyOf",
    "BaseCheck",
    "CheckResult",
    "EmbeddingSimilarity",
    "FunctionCheck",
    "JSONSchemaCheck",
    "JudgeCheck",
    "LabelSet",
    "LengthBounds",
    "NonEmpty",
    "NotRefusal",
    "PydanticCheck",
    "QualityCheck",
    "RegexMatch",
    "SchemaValidator",
    "ToolCallCheck",
    "ValidJSON",
    "Weighted",
    "check_from_config",
    "cosine_similarity",
    "parse_judge_score",
]
