"""The presence map: a sure miss skips SQLite, and nothing stored is ever missed."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import diskcache

from langchain_costrouter.cache import DiskBackend, open_cache
from langchain_costrouter.cache.disk import JsonOnlyDisk
from langchain_costrouter.cache.presence import PresenceMap
from tests.unit_tests.cache.support import answer, request


def test_an_unready_map_may_hold_anything(tmp_path: Path) -> None:
    presence = PresenceMap(tmp_path / "presence")
    assert not presence.ready
    assert presence.may_hold("never stored")


def test_a_filled_map_tells_sure_misses_and_is_shared_by_mappings(tmp_path: Path) -> None:
    writer = PresenceMap(tmp_path / "presence")
    writer.fill(["old"])
    reader = PresenceMap(tmp_path / "presence")
    assert reader.ready
    assert reader.may_hold("old")
    assert not reader.may_hold("new")
    writer.add("new")
    assert reader.may_hold("new")
    assert stat.S_IMODE((tmp_path / "presence").stat().st_mode) == 0o600


def test_entries_stored_before_the_map_existed_are_still_hits(tmp_path: Path) -> None:
    old = diskcache.Cache(str(tmp_path), disk=JsonOnlyDisk)
    old.set("stored-by-an-older-version", b"answer")
    old.close()
    assert not (tmp_path / "presence").exists()
    backend = DiskBackend(tmp_path)
    assert backend.get("stored-by-an-older-version") == b"answer"
    assert backend.get("never-stored") is None
    assert PresenceMap(tmp_path / "presence").ready


def _store_in_child(directory: str) -> None:
    open_cache(f"diskcache://{directory}").store(request(), answer("From the child."))


def test_an_entry_another_process_stores_after_a_sure_miss_is_a_hit(tmp_path: Path) -> None:
    cache = open_cache(f"diskcache://{tmp_path}")
    assert cache.lookup(request()) is None  # the map is ready now, and says "absent"
    child = multiprocessing.get_context("spawn").Process(
        target=_store_in_child, args=(str(tmp_path),)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    hit = cache.lookup(request())
    assert hit is not None
    assert hit.content == "From the child."
