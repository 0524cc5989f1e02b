"""The names OpenTelemetry backends chart: GenAI semantic conventions, then our own.

Follows the OpenTelemetry GenAI semantic conventions, version 1.41.1: their spans and
their metrics for generative AI client operations, as published in that release of the
OpenTelemetry semantic conventions (the last one to carry them before they moved to a
repository of their own). Those conventions are at "Development" stability; the names,
units and bucket boundaries below are theirs, word for word. Everything the conventions
do not name is ours and starts with ``costrouter.``.
"""

from __future__ import annotations

SEMCONV_VERSION = "1.41.1"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
INSTRUMENTATION_NAME = "langchain_costrouter"

# -- GenAI semantic conventions (span and metric attributes)
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_STREAM = "gen_ai.request.stream"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_STATUS = "http.response.status_code"
CHAT = "chat"
"""The ``gen_ai.operation.name`` of a chat completion (the only operation we call)."""
OTHER_ERROR = "_OTHER"

# -- GenAI client metrics: name, unit, bucket boundaries (ExplicitBucketBoundaries)
TOKEN_USAGE = "gen_ai.client.token.usage"
TOKEN_USAGE_UNIT = "{token}"
TOKEN_USAGE_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
OPERATION_DURATION = "gen_ai.client.operation.duration"
OPERATION_DURATION_UNIT = "s"
OPERATION_DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

# -- costrouter span attributes (also the metric attributes where they apply)
TASK = "costrouter.task"
NAMESPACE = "costrouter.namespace"
TIER = "costrouter.tier"
ROLE = "costrouter.role"
LEVER = "costrouter.lever"
PURPOSE = "costrouter.purpose"
POLICY = "costrouter.policy"
STATUS = "costrouter.status"
RUN_ID = "costrouter.run_id"
MODEL = "costrouter.model"
"""The deployment's name as the ledger and the routes call it (a config file's entry name),
beside the conventions' ``gen_ai.request.model``: the id the provider is sent."""
SERVED_MODEL = "costrouter.served_model"
REFERENCE_MODEL = "costrouter.reference_model"
COST = "costrouter.cost_usd"
BASELINE = "costrouter.baseline_cost_usd"
SAVINGS_PREFIX = "costrouter.savings_usd."
AVOIDED_COST = "costrouter.avoided_cost_usd"
CACHE_HIT = "costrouter.cache_hit"
ESCALATED = "costrouter.escalated"
ACCEPTED = "costrouter.accepted"
ATTEMPT_COUNT = "costrouter.attempts"
REASON = "costrouter.reason"
PRICE_SOURCE = "costrouter.price_source"
CHECK_SCORE = "costrouter.check.score"
CHECK_REASON = "costrouter.check.reason"
USAGE_ESTIMATED = "costrouter.usage_estimated"
STREAMED = "costrouter.stream"
BATCH_SIZE = "costrouter.batch.size"
BATCH_ITEM_PROMPT_TOKENS = "costrouter.batch.item_prompt_tokens"
TOKENS_BEFORE = "costrouter.compression.tokens_before"
TOKENS_AFTER = "costrouter.compression.tokens_after"
TOKENS_SAVED = "costrouter.compression.tokens_saved"
COMPRESSION_SAVED = "costrouter.compression.saved_usd"
COMPRESSOR_COST = "costrouter.compression.compressor_cost_usd"
COMPRESSION_FALLBACK = "costrouter.compression.fallback_reason"
BREAKER = "costrouter.breaker"
BREAKER_STATE = "costrouter.breaker.state"
BUDGET = "costrouter.budget"
BUDGET_SCOPE = "costrouter.budget.scope"
BUDGET_WINDOW = "costrouter.budget.window"

# -- costrouter span names (a task label is a short, fixed set: low cardinality)
ROUTE_SPAN = "costrouter.route"
CACHE_HIT_SPAN = "costrouter.cache_hit"
COMPRESS_SPAN = "costrouter.compress"
BATCH_SPAN = "costrouter.batch"
SKIPPED_EVENT = "costrouter.attempt_skipped"

# -- costrouter metrics
COST_METRIC = "costrouter.cost"
BASELINE_METRIC = "costrouter.baseline_cost"
SAVINGS_METRIC = "costrouter.savings"
UNPRICED_METRIC = "costrouter.unpriced_attempts"
CALLS_METRIC = "costrouter.calls"
CACHE_HITS_METRIC = "costrouter.cache.hits"
CACHE_MISSES_METRIC = "costrouter.cache.misses"
ESCALATIONS_METRIC = "costrouter.escalations"
BREAKER_METRIC = "costrouter.breaker.transitions"
BUDGET_METRIC = "costrouter.budget.remaining"
UNSETTLED_METRIC = "costrouter.budget.unsettled"
USD = "USD"

# LangChain's provider names (``ls_provider``) -> the conventions' well-known values.
_WELL_KNOWN_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "google_genai": "gcp.gen_ai",
    "google_vertexai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "groq": "groq",
    "ibm": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
}


# Hosts of well-known providers' OpenAI-compatible APIs -> their well-known values. A
# ChatOpenAI reports ``openai`` wherever it points; on these hosts the provider is known.
_WELL_KNOWN_HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "openai.azure.com": "azure.ai.openai",
    "api.deepseek.com": "deepseek",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "aiplatform.googleapis.com": "gcp.vertex_ai",
    "api.groq.com": "groq",
    "api.mistral.ai": "mistral_ai",
    "api.perplexity.ai": "perplexity",
    "api.x.ai": "x_ai",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
}


def provider_name(provider: str) -> str:
    """``gen_ai.provider.name`` for a deployment's provider: a well-known value when one
    applies (the conventions say it MUST then be used), else the provider as configured."""
    return _WELL_KNOWN_PROVIDERS.get(provider.lower(), provider)


def well_known_provider(provider: str) -> str | None:
    """The conventions' well-known value for a LangChain provider name, if it has one."""
    return _WELL_KNOWN_PROVIDERS.get(provider.lower())


def provider_of_host(host: str) -> str | None:
    """The well-known provider serving API host ``host`` (or a subdomain of one: Azure's
    ``NAME.openai.azure.com``, Vertex AI's ``REGION-aiplatform.googleapis.com``)."""
    host = host.lower().rstrip(".")
    for known, provider in _WELL_KNOWN_HOSTS.items():
        if host == known or host.endswith(("." + known, "-" + known)):
            return provider
    return None
