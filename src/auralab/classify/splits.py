"""Splits that cannot leak: official folds, else folds grouped by source and stratified by class.

Clips cut from one recording sound alike (same microphone, room, animal); if some train and
others test, the test measures memory, not generalisation. So a dataset with folds is split by
them, and a dataset without is split by ``assign_folds``: every group (``src_file`` /
``group`` column; each clip its own group when there is none) goes to one fold, and groups are
placed so each fold's class mix matches the whole dataset's as closely as possible.
"""

from collections import defaultdict

import numpy as np

from auralab.check.dataset import ClipTable
from auralab.errors import ConfigError, DataError


def dataset_folds(table: ClipTable, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Fold number (1-based) of each clip: the official one, else ``assign_folds``."""
    if table.has_folds:
        return np.array([c.fold for c in table.clips], dtype=np.int64)
    labels = np.array([table.label_index(c) for c in table.clips])
    groups = [c.group if c.group is not None else f"clip:{c.id}" for c in table.clips]
    return assign_folds(labels, groups, n_folds, seed)


def assign_folds(labels, groups, n_folds: int, seed: int = 0) -> np.ndarray:
    """Group-aware stratified fold assignment.

    Groups are placed largest first (ties in random order); each goes to the fold where adding
    it keeps the folds' class counts closest to an equal share, measured as the summed squared
    excess over each fold's target count per class.

    Args:
        labels: ``(N,)`` integer class of each clip.
        groups: ``(N,)`` group id of each clip (clips of one group stay together).
        n_folds: number of folds, at least 2 and at most the number of groups.
        seed: order of equally sized groups.

    Returns:
        ``(N,)`` fold number of each clip, 1 to ``n_folds``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    members: dict = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    if not 2 <= n_folds <= len(members):
        raise ConfigError(
            f"data.n_folds={n_folds}: need 2 to {len(members)} folds (the number of groups)"
        )
    n_classes = int(labels.max()) + 1
    target = np.bincount(labels, minlength=n_classes) / n_folds  # per-fold share of each class
    counts = np.zeros((n_folds, n_classes))
    rng = np.random.default_rng(seed)
    keys = list(members)
    order = sorted(rng.permutation(len(keys)), key=lambda k: -len(members[keys[k]]))
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for k in order:
        idx = members[keys[k]]
        add = np.bincount(labels[idx], minlength=n_classes)
        cost = [np.square(np.maximum(counts[f] + add - target, 0)).sum() for f in range(n_folds)]
        # Among equally good folds, the smallest: folds stay equal in size.
        f = min(range(n_folds), key=lambda f: (cost[f], counts[f].sum()))
        counts[f] += add
        fold_of[idx] = f + 1
    return fold_of


def fold_indices(folds: np.ndarray, val_fold: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)`` row indices: ``val_fold`` held out; ``val_fold = 0`` trains on all."""
    present = sorted(set(folds.tolist()))
    if val_fold == 0:
        return np.arange(len(folds)), np.zeros(0, dtype=np.int64)
    if val_fold not in present:
        raise ConfigError(f"data.val_fold={val_fold}; the dataset has folds {present} (or 0: none)")
    return np.flatnonzero(folds != val_fold), np.flatnonzero(folds == val_fold)


def refuse_leaks(table: ClipTable, train: np.ndarray, val: np.ndarray) -> None:
    """Raise if a source recording has clips on both sides of a split."""
    side = {}
    for name, rows in (("train", train), ("val", val)):
        for r in rows:
            g = table.clips[r].group
            if g is None:
                continue
            if side.setdefault(g, name) != name:
                raise DataError(
                    f"source recording {g} has clips in train and val "
                    f"(e.g. {table.clips[r].id}); split by group (see `auralab check splits`)"
                )
