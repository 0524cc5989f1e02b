"""Prompt groups: a train/test split that keeps every copy of a prompt on one side.

Own traffic asks the same prompt again and again (``costrouter collect``, shadow
outcomes), and the learned scorer's hashed text features memorise a prompt: a copy on
the training side of a split or a fold makes its twin's held-out score, and so every
held-out figure, optimistic. Rows whose prompts share a key (`replay.record_key`, a
digest of the messages' contents in order: exactly what the features read) form one
group, and the split places groups, never rows.

When every prompt is distinct each group is one row, the random draws are the ones
the per-row split made, and so is the split: seeds, policies and documented figures
stay what they were.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from langchain_costrouter.calibration.features import IntArray


def group_codes(keys: Sequence[Hashable]) -> tuple[IntArray, int]:
    """Each row's group number (groups numbered by first appearance), and their count."""
    numbers: dict[Hashable, int] = {}
    codes = np.fromiter((numbers.setdefault(key, len(numbers)) for key in keys), np.int64)
    return codes, len(numbers)


def split_groups(
    keys: Sequence[Hashable], train_fraction: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """(train positions, test positions) of one task's rows, each in row order.

    The groups are shuffled and cut where the train side's rows come closest to
    ``train_fraction`` of all rows (on a tie, where both sides keep a row), so each
    group's side depends only on its place in the shuffle, not on its size.
    """
    codes, count = group_codes(keys)
    order = rng.permutation(count)
    sizes = np.bincount(codes, minlength=count)
    filled = np.concatenate([[0], np.cumsum(sizes[order])])
    distance = np.abs(filled - round(len(keys) * train_fraction))
    one_sided = np.isin(np.arange(count + 1), (0, count))
    cut = int(np.lexsort((np.arange(count + 1), one_sided, distance))[0])
    train = np.zeros(count, dtype=bool)
    train[order[:cut]] = True
    return np.flatnonzero(train[codes]), np.flatnonzero(~train[codes])
