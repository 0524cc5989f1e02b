"""Optional semantic layer: answer a rephrased question from the cache, carefully.

Semantic caches are where the anchors leaked answers across tenants and served
"yes" to "no" questions. Three rules keep this one safe:

* Hard partition. Only the last user message is compared by meaning; everything
  else (namespace, task, policy version, parameters, tools, every earlier message)
  must match exactly, because it is hashed into the partition the vectors live in.
* A per-task threshold, and no semantic matching for a task without one.
* A second guard against near misses that embeddings rate as similar: numbers,
  negations and capitalised words (names, places, products) must match
  (`near_miss_guard`). "Refund order 1234" never answers "refund order 1235".

Vectors live in the backend (so Redis and diskcache share them across processes), one
list per partition, compared by cosine similarity. Large partitions are searched with
an approximate index (`semantic_ann`, the ``[ann]`` extra) whose candidates are
re-ranked exactly and go through the same threshold and guard (`semantic_view`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace

from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage, HumanMessage

from langchain_costrouter.cache.keys import CacheRequest, Normalization, digest
from langchain_costrouter.cache.semantic_embedding import unit_vector
from langchain_costrouter.cache.semantic_guard import near_miss_guard, signature_hash
from langchain_costrouter.cache.semantic_view import PartitionView
from langchain_costrouter.errors import ConfigError

# Stored vectors are float32: a similarity may read up to about 1e-7 low.
_FLOAT32_TOLERANCE = 1e-6

NearMissGuard = Callable[[str, str], bool]


@dataclass(frozen=True)
class SemanticMatch:
    """A stored request close enough to answer this one."""

    key: str
    similarity: float
    text: str


class SemanticLayer:
    """Near-identical prompt matching with any LangChain `Embeddings`. Off unless passed.

    Args:
        embeddings: any LangChain embeddings model.
        threshold: minimum cosine similarity; one value for every task in ``tasks``,
            or a mapping task -> threshold (tasks absent from it get no semantic
            matching).
        tasks: tasks the layer serves when ``threshold`` is a single value; None = all.
        guard: the near-miss check; both texts must pass it.
    """

    def __init__(
        self,
        embeddings: Embeddings,
        *,
        threshold: float | Mapping[str, float] = 0.95,
        tasks: Collection[str] | None = None,
        guard: NearMissGuard = near_miss_guard,
    ) -> None:
        """Configure the layer; nothing is embedded until the first lookup.

        Raises:
            ConfigError: a threshold that is not a number above 0 and at most 1, or
                ``tasks`` given with a mapping (which names its tasks itself).
        """
        if isinstance(threshold, Mapping):
            for task, value in threshold.items():
                _check_threshold(value, f"threshold[{task!r}]")
            if tasks is not None:
                raise ConfigError(
                    "tasks applies to a single threshold; a threshold mapping names its "
                    "tasks itself: leave tasks out, or give one threshold"
                )
        else:
            _check_threshold(threshold, "threshold")
        self.embeddings = embeddings
        self.threshold = threshold
        self.tasks = tasks
        self.guard = guard

    def threshold_for(self, task: str) -> float | None:
        """The task's threshold, or None when the task gets no semantic matching."""
        if isinstance(self.threshold, Mapping):
            return self.threshold.get(task)
        return self.threshold if self.tasks is None or task in self.tasks else None

    def query_text(self, request: CacheRequest) -> str | None:
        """The text compared by meaning: the last message, if it is a plain user text.

        It is the text as typed (outer whitespace aside), not the task's normal form:
        the near-miss guard needs the capitals that case folding would erase.
        """
        last = request.messages[-1] if request.messages else None
        if last is None or self.threshold_for(request.task) is None or not _text_only(last):
            return None
        return last.text.strip() or None

    def partition(self, request: CacheRequest, normalization: Normalization) -> str:
        """Backend list key: everything but the last user text, hashed exactly."""
        context = replace(request, messages=request.messages[:-1])
        return f"sem:v2:{digest(context.payload(normalization))}"

    def embed(self, text: str) -> list[float]:
        """Embed and L2-normalise, so similarity is a dot product.

        Raises:
            EmbeddingError: the model answered with something that is not a vector.
            Exception: what the embeddings model raised.
        """
        return unit_vector(self.embeddings.embed_query(text))

    async def aembed(self, text: str) -> list[float]:
        """Async `embed`."""
        return unit_vector(await self.embeddings.aembed_query(text))

    def best_match(
        self, task: str, text: str, vector: list[float], view: PartitionView
    ) -> SemanticMatch | None:
        """The most similar stored entry above the threshold that passes the guard."""
        return next(self.matches(task, text, vector, view), None)

    def matches(
        self, task: str, text: str, vector: list[float], view: PartitionView
    ) -> Iterator[SemanticMatch]:
        """The stored entries above the threshold that pass the guard, most similar
        first, each found when asked for: the cache takes the next only when the
        previous one's answer is gone."""
        threshold = self.threshold_for(task)
        if threshold is None:
            return
        floor = threshold - _FLOAT32_TOLERANCE
        # With the default guard only entries of the query's signature can be served:
        # the view looks those up directly instead of searching past a crowd of others.
        signature = signature_hash(text) if self.guard is near_miss_guard else None
        accept = functools.partial(self.guard, text)
        for found in view.candidates(vector, floor, accept, signature):
            yield SemanticMatch(found.key, min(found.similarity, 1.0), found.text)


def _check_threshold(value: object, name: str) -> None:
    """A cosine similarity threshold: a number in (0, 1]. Checked here because a string
    (read from an environment variable or JSON) failed every routed call's lookup with
    TypeError, and 95 (a percentage) silently never matched."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name}: got {value!r}; give a number such as 0.95")
    if not 0.0 < value <= 1.0:  # NaN fails this too
        raise ConfigError(
            f"{name}: got {value!r}; a cosine similarity threshold is between 0 and 1 "
            f"(above 0, at most 1), such as 0.95"
        )


def _text_only(message: BaseMessage) -> bool:
    """A user message whose text is all it says: no speaker name, no extra kwargs, no
    image, file or audio block. Only the text is compared by meaning, so anything else
    in the question (another image with the same caption, another speaker) must never
    be answered from a neighbour's entry: such a question is matched exactly."""
    if not isinstance(message, HumanMessage) or message.name is not None:
        return False
    if message.additional_kwargs:
        return False
    content = message.content
    return isinstance(content, str) or all(
        isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
        for block in content
    )
