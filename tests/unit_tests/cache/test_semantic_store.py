"""Large semantic partitions: graph search with the exact guard rails, cold starts, appends.

Sizes are chosen so that the partition outgrows an exact scan (rows x dimensions above
`EXACT_SCAN_FLOATS`) and gets a graph, yet fills in seconds.
"""

from __future__ import annotations

import json
import multiprocessing
import stat
import struct
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.cache import (
    CacheRequest,
    DiskBackend,
    MemoryBackend,
    ResponseCache,
    SemanticLayer,
)
from langchain_costrouter.cache._snapshot_format import MAGIC
from langchain_costrouter.cache.semantic_ann import ann_available
from langchain_costrouter.cache.semantic_base import EXACT_SCAN_FLOATS, Base
from langchain_costrouter.cache.semantic_guard import near_miss_guard
from langchain_costrouter.cache.semantic_home import home_for
from langchain_costrouter.errors import BackendUnavailableWarning
from tests.unit_tests.cache.support import (
    BagOfWordsEmbeddings,
    exact_only_round_trip,
    fill_shops,
    fill_shops_in_fresh_process,
    lookup_shops_in_fresh_process,
    request,
    semantic_cache,
    shop_answer,
    shop_question,
)

pytestmark = pytest.mark.slow
needs_ann = pytest.mark.skipif(not ann_available(), reason="the [ann] extra is not installed")
SCALE, SCALE_SIZE = 20_000, 128  # 2.56M floats: a graph
DISK, DISK_SIZE = 8_000, 256  # 2.05M floats: a graph


def rephrased(n: int) -> CacheRequest:
    return request("Tell me: " + shop_question(n))


def base_of(cache: ResponseCache, req: CacheRequest) -> Base | None:
    assert cache.semantic is not None
    return home_for(cache.backend).load(cache.semantic.partition(req, cache.normalization_for(req)))


@pytest.fixture(scope="module")
def big_partition() -> ResponseCache:
    """20,000 templated questions in one partition, merged into a base with a graph."""
    assert SCALE * SCALE_SIZE > EXACT_SCAN_FLOATS
    backend = MemoryBackend(max_entries=50_000)
    fill_shops(semantic_cache(backend, SCALE_SIZE), range(SCALE))
    reader = semantic_cache(backend, SCALE_SIZE)
    assert reader.lookup(rephrased(1)) == shop_answer(1)  # answered exactly while merging
    assert reader.wait_for_semantic_index(300)
    return reader


@needs_ann
def test_every_question_finds_its_own_answer_through_the_graph(
    big_partition: ResponseCache,
) -> None:
    base = base_of(big_partition, rephrased(0))
    assert base is not None
    assert len(base) == SCALE
    assert base.groups[SCALE_SIZE].graph is not None
    for n in np.random.default_rng(7).choice(SCALE, 60, replace=False).tolist():
        hit = big_partition.lookup_hit(rephrased(n))
        assert hit is not None
        assert (hit.kind, hit.message) == ("semantic", shop_answer(n))


@needs_ann
def test_a_custom_guard_is_searched_for_past_the_crowd(big_partition: ResponseCache) -> None:
    # Without the default guard's signature to look up, the graph proposes rows; when
    # all it proposed are near misses it is asked for more, then the base is scanned.
    def guard(query: str, cached: str) -> bool:
        return near_miss_guard(query, cached)

    layer = SemanticLayer(BagOfWordsEmbeddings(SCALE_SIZE), threshold=0.8, guard=guard)
    cache = ResponseCache(big_partition.backend, semantic=layer)
    for n in (11, 9_876, 19_998):
        assert cache.lookup(rephrased(n)) == shop_answer(n)
    assert cache.lookup(rephrased(SCALE + 5)) is None


@needs_ann
def test_the_graph_serves_what_the_exact_scan_would(big_partition: ResponseCache) -> None:
    embeddings = BagOfWordsEmbeddings(SCALE_SIZE)
    stored = np.asarray(embeddings.embed_documents([shop_question(n) for n in range(SCALE)]))
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    for n in (3, 4_321, 19_999):
        query = "Tell me: " + shop_question(n)
        vector = np.asarray(embeddings.embed_query(query))
        similarities = stored @ (vector / np.linalg.norm(vector))
        order = np.argsort(-similarities, kind="stable")
        exact = next(
            int(i)
            for i in order
            if similarities[i] >= 0.8 and near_miss_guard(query, shop_question(int(i)))
        )
        hit = big_partition.lookup_hit(request(query))
        assert hit is not None
        assert hit.message == shop_answer(exact)
        assert hit.similarity == pytest.approx(similarities[exact], abs=1e-5)


@needs_ann
@pytest.mark.parametrize(
    "near_miss",
    [
        "Tell me: what is the opening time of shop number 20001 on mill street in York?",
        "Tell me: what is not the opening time of shop number 12 on castle street in Leeds?",
        "Tell me: what is the opening time of shop number 12 on castle street in Paris?",
    ],
)
def test_near_misses_in_a_crowd_are_never_served(
    big_partition: ResponseCache, near_miss: str
) -> None:
    # Hundreds of stored questions are above the threshold for each of these; the
    # number, the negation or the name differs from every one of them.
    assert big_partition.lookup(request(near_miss)) is None


def test_without_the_extra_large_partitions_are_scanned_exactly(tmp_path: Path) -> None:
    url = f"diskcache://{tmp_path / 'cache'}"
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        text, graphs = pool.apply(exact_only_round_trip, (url, DISK, DISK_SIZE))
    assert text == f"Shop {DISK // 2} opens at nine."
    assert not graphs


class CountingDiskBackend(DiskBackend):
    """Records how many list values are read."""

    values_read = 0

    def read_positioned(self, key: str, start: int = 0) -> list[tuple[int, bytes]]:
        values = super().read_positioned(key, start)
        self.values_read += len(values)
        return values


@pytest.fixture(scope="module")
def disk_partition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8,000 entries in a diskcache directory, merged and written by a reader."""
    directory = tmp_path_factory.mktemp("semantic") / "cache"
    fill_shops(semantic_cache(DiskBackend(directory), DISK_SIZE), range(DISK))
    reader = semantic_cache(DiskBackend(directory), DISK_SIZE)
    assert reader.lookup(rephrased(5)) == shop_answer(5)
    assert reader.wait_for_semantic_index(300)
    return directory


def spawn(function: object, *args: object) -> object:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)  # type: ignore[arg-type]


def test_a_new_process_maps_the_base_and_reads_only_what_came_after(
    disk_partition: Path,
) -> None:
    (path,) = (disk_partition / "semantic-index").glob("*.base")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    url = f"diskcache://{disk_partition}"
    spawn(fill_shops_in_fresh_process, url, DISK, DISK + 3, DISK_SIZE)
    answers = spawn(lookup_shops_in_fresh_process, url, [17, DISK + 1], DISK_SIZE)
    assert answers == ["Shop 17 opens at nine.", f"Shop {DISK + 1} opens at nine."]
    counting = CountingDiskBackend(disk_partition)
    assert semantic_cache(counting, DISK_SIZE).lookup(rephrased(17)) == shop_answer(17)
    assert counting.values_read == 4  # the base's last value (checked) and the 3 new ones


def test_appends_of_another_process_are_read_incrementally(disk_partition: Path) -> None:
    counting = CountingDiskBackend(disk_partition)
    reader = semantic_cache(counting, DISK_SIZE)
    assert reader.lookup(rephrased(40)) == shop_answer(40)
    already = counting.values_read
    url = f"diskcache://{disk_partition}"
    spawn(fill_shops_in_fresh_process, url, DISK + 10, DISK + 15, DISK_SIZE)
    assert reader.lookup(rephrased(DISK + 12)) == shop_answer(DISK + 12)
    assert counting.values_read == already + 6


def test_a_damaged_base_file_is_rebuilt_and_answers_stay_right(disk_partition: Path) -> None:
    (path,) = (disk_partition / "semantic-index").glob("*.base")
    path.write_bytes(b"not a base file at all")
    reader = semantic_cache(DiskBackend(disk_partition), DISK_SIZE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert reader.lookup(rephrased(99)) == shop_answer(99)
    assert any(issubclass(w.category, BackendUnavailableWarning) for w in caught)
    assert reader.wait_for_semantic_index(300)
    assert base_of(reader, rephrased(99)) is not None


def test_a_cleared_store_never_serves_from_its_old_base(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path / "cache")
    cache = semantic_cache(backend, DISK_SIZE)
    fill_shops(cache, range(DISK))
    assert cache.lookup(rephrased(17)) == shop_answer(17)
    assert cache.wait_for_semantic_index(300)
    assert list((tmp_path / "cache" / "semantic-index").glob("*.base"))
    cache.clear()
    assert not (tmp_path / "cache" / "semantic-index").exists()
    cache.store(request(shop_question(17)), shop_answer(1700))
    assert cache.lookup(rephrased(17)) == shop_answer(1700)
    assert cache.lookup(rephrased(18)) is None


def _graph_block(path: Path) -> tuple[int, int]:
    """Offset and size of the first group's graph in a base file."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    graph = json.loads(data[start : start + size])["groups"][0]["graph"]
    return -(-(start + size) // 64) * 64 + graph["offset"], graph["size"]


def lookup_warned_in_child(url: str, n: int) -> tuple[str | None, list[str]]:
    """A fresh process's lookup (run spawned: a damaged graph could crash it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hit = semantic_cache(url, DISK_SIZE).lookup(rephrased(n))
    said = [str(w.message) for w in caught if issubclass(w.category, BackendUnavailableWarning)]
    return (None if hit is None else hit.text), said


@needs_ann
def test_a_base_file_with_a_damaged_graph_is_rebuilt_not_searched(disk_partition: Path) -> None:
    (path,) = (disk_partition / "semantic-index").glob("*.base")
    offset, size = _graph_block(path)
    data = bytearray(path.read_bytes())
    for at in range(offset + size // 2, offset + size, 97):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    spawned = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawned) as pool:  # a crash is BrokenProcessPool
        text, said = pool.submit(
            lookup_warned_in_child, f"diskcache://{disk_partition}", 99
        ).result()
    assert text == "Shop 99 opens at nine."
    assert any("unusable" in message for message in said), said
    reader = semantic_cache(DiskBackend(disk_partition), DISK_SIZE)
    assert reader.lookup(rephrased(99)) == shop_answer(99)
    assert reader.wait_for_semantic_index(300)
    assert base_of(reader, rephrased(99)) is not None


def test_a_base_file_of_an_older_format_is_replaced_without_a_warning(
    disk_partition: Path,
) -> None:
    (path,) = (disk_partition / "semantic-index").glob("*.base")
    data = path.read_bytes()
    at = data.index(b'"format":')
    path.write_bytes(data[:at] + b'"format":1' + data[at + 10 :])
    text, said = lookup_warned_in_child(f"diskcache://{disk_partition}", 123)
    assert (text, said) == ("Shop 123 opens at nine.", [])
    assert not path.exists()  # removed: the next merge writes the current format


class TrimCountingBackend(MemoryBackend):
    """Records how many times a list is trimmed."""

    trims = 0

    def trim_list(self, key: str, start: int) -> None:
        self.trims += 1
        super().trim_list(key, start)


def test_under_a_steady_ttl_the_list_keeps_about_its_live_rows() -> None:
    # The vectors of expired answers stayed for ever: a long-running app's list grew
    # by one per write. Now writes trim them, in batches, not one round trip per write.
    backend = TrimCountingBackend(max_entries=50_000)
    cache = ResponseCache(
        backend, ttl=0.3, semantic=SemanticLayer(BagOfWordsEmbeddings(64), threshold=0.8)
    )
    writes = 400
    for n in range(writes):
        question = request(shop_question(n))
        assert cache.lookup(rephrased(n)) is None
        cache.store(question, shop_answer(n))
        time.sleep(0.01)
    assert cache.lookup(rephrased(writes - 1)) == shop_answer(writes - 1)
    assert cache.semantic is not None
    partition = cache.semantic.partition(rephrased(0), cache.normalization_for(rephrased(0)))
    kept = len(backend.read_list(partition))
    assert kept < 160, kept  # 400 written: about 30 live ones and a batch of dead ones
    assert backend.list_length(partition) == writes
    assert 2 <= backend.trims <= writes // 8, backend.trims


async def test_an_async_write_trims_too() -> None:
    backend = MemoryBackend()
    cache = ResponseCache(
        backend, ttl=0.2, semantic=SemanticLayer(BagOfWordsEmbeddings(64), threshold=0.8)
    )
    for n in range(10):
        await cache.astore(request(shop_question(n)), shop_answer(n))
    assert await cache.alookup(rephrased(3)) == shop_answer(3)
    time.sleep(0.3)
    await cache.astore(request(shop_question(10)), shop_answer(10))
    assert cache.semantic is not None
    partition = cache.semantic.partition(rephrased(0), cache.normalization_for(rephrased(0)))
    assert [json.loads(line)["t"] for line in backend.read_list(partition)] == [shop_question(10)]
    assert await cache.alookup(rephrased(3)) is None
    assert await cache.alookup(rephrased(10)) == shop_answer(10)
