"""Prompt groups: splits and folds that keep every copy of a prompt on one side.

Own traffic asks the same prompt again and again (``costrouter collect``, shadow
outcomes), and the learned scorer's hashed text features memorise a prompt: a copy on
the training side of a split or a fold makes its twin's held-out score, and so every
held-out figure, optimistic. Rows whose prompts share a key (`replay.record_key`, a
digest of the messages' contents in order: exactly what the features read) form one
group, and every assignment here places groups, never rows.

When every prompt is distinct each group is one row, the random draws are the ones
the per-row assignments made, and so is every split and fold: seeds, policies and
documented figures stay what they were.
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


def renumbered(codes: IntArray) -> IntArray:
    """Group numbers of some rows renumbered from 0 with no gaps (in the order of the
    old numbers), as `bounds` counts them: a group without rows here is no group."""
    return np.asarray(np.unique(codes, return_inverse=True)[1], dtype=np.int64)


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


def fold_groups(keys: Sequence[Hashable], folds: int, seed: int) -> IntArray:
    """Deterministic fold number of every row, copies of a prompt in one fold.

    Groups take a random rank and, largest first (by rank among equals), each goes to
    the fold with the fewest rows so far (the lowest-numbered on a tie): the folds'
    row counts differ by at most the largest group. Distinct rows thus go round the
    folds in rank order, which is the per-row assignment ``rank % folds``.
    """
    codes, count = group_codes(keys)
    rank = np.random.default_rng(seed).permutation(count)
    if count == len(keys):
        return np.asarray(rank[codes] % folds, dtype=np.int64)
    sizes = np.bincount(codes, minlength=count)
    loads = [0] * folds
    fold_of = np.zeros(count, dtype=np.int64)
    for group in np.lexsort((rank, -sizes)).tolist():
        fold = min(range(folds), key=loads.__getitem__)
        fold_of[group] = fold
        loads[fold] += int(sizes[group])
    return fold_of[codes]
