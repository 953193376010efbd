"""Classification metrics as pure functions ``(preds, target)``.

``preds`` is either class scores ``(N, C)`` (probabilities or logits; the predicted class is the
argmax) or predicted labels ``(N,)``; ``target`` is ``(N,)`` integer labels in ``[0, C)``.
Everything is computed from the confusion matrix, except ROC-AUC, which needs the scores.
Classes absent from ``target`` are left out of the macro averages (and reported as NaN per
class) rather than counted as zero: a fold without a class must not look like a failure on it.
"""

import numpy as np


def confusion_matrix(preds, target, num_classes: int | None = None) -> np.ndarray:
    """Counts ``(C, C)``: row = true class, column = predicted class.

    Args:
        preds: ``(N, C)`` scores or ``(N,)`` predicted labels.
        target: ``(N,)`` true labels.
        num_classes: C; default from the scores' width or the largest label + 1.
    """
    pred, true, c = _labels(preds, target, num_classes)
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    return cm


def accuracy(preds, target) -> float:
    """Fraction of items whose predicted class is the true class."""
    pred, true, _ = _labels(preds, target, None)
    return float(np.mean(pred == true)) if true.size else float("nan")


def per_class_accuracy(preds, target, num_classes: int | None = None) -> np.ndarray:
    """``(C,)`` recall of each class (correct / items of that class); NaN for absent classes."""
    cm = confusion_matrix(preds, target, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def balanced_accuracy(preds, target, num_classes: int | None = None) -> float:
    """Mean per-class accuracy over the classes present in ``target``."""
    return float(np.nanmean(per_class_accuracy(preds, target, num_classes)))


def f1_per_class(preds, target, num_classes: int | None = None) -> np.ndarray:
    """``(C,)`` F1 = 2 TP / (2 TP + FP + FN) per class; NaN for classes absent from ``target``."""
    cm = confusion_matrix(preds, target, num_classes)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, 2 * tp / (2 * tp + fp + fn), np.nan)


def macro_f1(preds, target, num_classes: int | None = None) -> float:
    """Unweighted mean of the per-class F1 over the classes present in ``target``."""
    return float(np.nanmean(f1_per_class(preds, target, num_classes)))


def roc_auc_per_class(scores, target) -> np.ndarray:
    """``(C,)`` one-vs-rest ROC-AUC of each class from scores ``(N, C)``.

    The AUC is the probability that a random positive scores above a random negative, ties
    counting one half (the Mann-Whitney U statistic, from average ranks). NaN for a class with
    no positive or no negative item.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(target, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] != y.shape[0]:
        raise ValueError(f"roc_auc: scores {s.shape} need shape (N, C) with N = {y.shape[0]}")
    out = np.full(s.shape[1], np.nan)
    for c in range(s.shape[1]):
        pos = y == c
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        if n_pos and n_neg:
            ranks = _average_ranks(s[:, c])
            out[c] = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def roc_auc_ovr(scores, target) -> float:
    """Macro one-vs-rest ROC-AUC: the mean of ``roc_auc_per_class`` over defined classes."""
    auc = roc_auc_per_class(scores, target)
    return float(np.nanmean(auc)) if np.isfinite(auc).any() else float("nan")


def classification_report(scores, target, num_classes: int | None = None) -> dict:
    """Every metric above for one set of predictions, as plain types (for JSON).

    Args:
        scores: ``(N, C)`` class probabilities or logits.
        target: ``(N,)`` true labels.

    Returns:
        ``{"accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "n",
        "per_class_accuracy": [C], "confusion": [[C]]}``.
    """
    s = np.asarray(scores, dtype=np.float64)
    c = num_classes or s.shape[1]
    return {
        "accuracy": accuracy(s, target),
        "balanced_accuracy": balanced_accuracy(s, target, c),
        "macro_f1": macro_f1(s, target, c),
        "roc_auc": roc_auc_ovr(s, target),
        "n": int(len(target)),
        "per_class_accuracy": [_plain(v) for v in per_class_accuracy(s, target, c)],
        "confusion": confusion_matrix(s, target, c).tolist(),
    }


def _labels(preds, target, num_classes: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    p = np.asarray(preds)
    y = np.asarray(target, dtype=np.int64).reshape(-1)
    if p.ndim == 2:
        width = p.shape[1]
        p = p.argmax(axis=1)
    elif p.ndim == 1:
        width = 0
    else:
        raise ValueError(f"preds has shape {p.shape}; expected (N, C) scores or (N,) labels")
    p = p.astype(np.int64)
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"preds has {p.shape[0]} items, target {y.shape[0]}")
    c = num_classes or max(width, int(max(p.max(initial=-1), y.max(initial=-1))) + 1)
    if y.size and (y.min() < 0 or y.max() >= c or p.min() < 0 or p.max() >= c):
        raise ValueError(f"labels must lie in [0, {c}); got target {y.min()}..{y.max()}")
    return p, y, c


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # Boundaries of runs of equal values in the sorted order.
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    ranks = np.empty(x.size)
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + 1 + e) / 2  # mean of ranks s+1 .. e
    return ranks


def _plain(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)
