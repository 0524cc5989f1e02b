"""An embeddings model that fails or answers nonsense costs the semantic layer, never the call."""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.cache import DiskBackend, ResponseCache, SemanticLayer
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.testing import ScriptedChatModel
from tests.unit_tests.cache.support import BagOfWordsEmbeddings, answer, request


class FlakyEmbeddings(BagOfWordsEmbeddings):
    """Bag-of-words vectors, or (by ``mode``) an outage or a broken answer."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"

    def embed_query(self, text: str) -> list[float]:
        vector = super().embed_query(text)
        if self.mode == "down":
            raise ConnectionError("endpoint unreachable (api_key=sk-abcdefghijklmnop1234)")
        broken: dict[str, object] = {
            "nan": [math.nan] * len(vector),
            "inf": [math.inf, *vector[1:]],
            "zero": [0.0] * len(vector),
            "empty": [],
            "none": None,
            "text": "not a vector",
        }
        return broken.get(self.mode, vector)  # type: ignore[return-value]

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def _cache(tmp_path: Path, embeddings: FlakyEmbeddings, retry_after: float = 60) -> ResponseCache:
    layer = SemanticLayer(embeddings, threshold=0.8)
    backend = DiskBackend(tmp_path / "cache")
    return ResponseCache(backend, semantic=layer, retry_after=retry_after)


def _vectors_stored(cache: ResponseCache) -> int:
    assert cache.semantic is not None
    req = request("What is the capital city of France?")
    partition = cache.semantic.partition(req, cache.normalization_for(req))
    return cache.backend.list_length(partition)


def test_a_routed_call_succeeds_while_the_embeddings_model_is_down(tmp_path: Path) -> None:
    embeddings = FlakyEmbeddings()
    embeddings.mode = "down"
    child = ScriptedChatModel(model="gpt-4o-mini", answers=["Paris.", "Lyon."])
    router = RoutedChatModel(
        routes={"chat": [child]},
        default_task="chat",
        cache=_cache(tmp_path, embeddings),
        ledger="memory://",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = router.invoke("What is the capital city of France?")
        again = router.invoke("What is the capital city of France?")
        other = router.invoke("Tell me: what is the capital city of France?")
    assert (first.content, again.content, other.content) == ("Paris.", "Paris.", "Lyon.")
    assert child.calls == 2  # the exact cache still answered the repeat
    said = [str(w.message) for w in caught if issubclass(w.category, BackendUnavailableWarning)]
    assert len(said) == 1, said  # once per outage, not once per call
    assert "ConnectionError" in said[0] and "sk-abcdefghijklmnop1234" not in said[0]
    assert embeddings.calls == 1  # paused after the failure: no timeout per call


def test_lookups_resume_after_the_pause(tmp_path: Path) -> None:
    embeddings = FlakyEmbeddings()
    cache = _cache(tmp_path, embeddings, retry_after=0.2)
    cache.store(request("What is the capital city of France?"), answer())
    embeddings.mode = "down"
    with pytest.warns(BackendUnavailableWarning, match="embeddings"):
        assert cache.lookup(request("Tell me: what is the capital city of France?")) is None
    embeddings.mode = "ok"
    assert cache.lookup(request("Tell me: what is the capital city of France?")) is None  # paused
    time.sleep(0.3)
    hit = cache.lookup_hit(request("Tell me: what is the capital city of France?"))
    assert hit is not None and hit.kind == "semantic"


@pytest.mark.parametrize("mode", ["nan", "inf", "zero", "empty", "none", "text"])
def test_an_unusable_vector_is_a_warned_miss_and_never_stored(tmp_path: Path, mode: str) -> None:
    embeddings = FlakyEmbeddings()
    cache = _cache(tmp_path, embeddings, retry_after=0)
    cache.store(request("What is the capital city of France?"), answer())
    embeddings.mode = mode
    with pytest.warns(BackendUnavailableWarning, match="embeddings"):
        miss = cache.lookup(request("Tell me: what is the capital city of France?"))
    assert miss is None
    with pytest.warns(BackendUnavailableWarning, match="embeddings"):
        cache.store(request("Tell me: what is the capital city of France?"), answer("Paris!"))
    assert _vectors_stored(cache) == 1
    assert cache.lookup(request("Tell me: what is the capital city of France?")) == answer("Paris!")


async def test_async_lookups_and_stores_survive_an_outage(tmp_path: Path) -> None:
    embeddings = FlakyEmbeddings()
    cache = _cache(tmp_path, embeddings, retry_after=0)
    await cache.astore(request("What is the capital city of France?"), answer())
    embeddings.mode = "down"
    with pytest.warns(BackendUnavailableWarning, match="embeddings"):
        miss = await cache.alookup(request("Tell me: what is the capital city of France?"))
    assert miss is None
    with pytest.warns(BackendUnavailableWarning, match="embeddings"):
        await cache.astore(request("How tall is the Eiffel tower?"), answer("330 m"))
    assert await cache.alookup(request("How tall is the Eiffel tower?")) == answer("330 m")
