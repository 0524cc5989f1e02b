"""Progress bars of ``costrouter calibrate``'s phases, on stderr only.

A bar never writes to stdout, so ``--json`` output stays one JSON object. By default a
bar shows only when stderr is a terminal (tqdm's ``disable=None``); ``--progress``
forces it on, e.g. under a job runner that captures stderr to a log, and then leaves
each finished bar in place so the log shows every phase's count and time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Never, TypeVar

from tqdm import tqdm

T = TypeVar("T")

Progress = bool | None
"""True: always show bars; None: only when stderr is a terminal; False: never."""


def bar(total: int | None, label: str, unit: str, show: Progress) -> tqdm[Never]:
    """A manual bar (call ``update``); close it, or use it as a context manager."""
    return tqdm(
        total=total,
        desc=label,
        unit=unit,
        file=sys.stderr,
        disable=None if show is None else not show,
        leave=bool(show),
    )


def tracked(
    items: Iterable[T], total: int | None, label: str, unit: str, show: Progress
) -> Iterator[T]:
    """``items`` unchanged, with a bar advancing once per item."""
    with bar(total, label, unit, show) as progress:
        for item in items:
            yield item
            progress.update()
