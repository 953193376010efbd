"""Confusion matrices as a figure, a PNG and a CSV."""

import csv
import io
from pathlib import Path

import numpy as np

from auralab.train.runs import atomic_write_bytes, atomic_write_text


def confusion_figure(confusion, labels: list[str], title: str = ""):
    """Matplotlib figure of a ``(C, C)`` count matrix (rows: true, columns: predicted).

    Cells show counts; colour is the row-normalised rate, so rare classes stay readable.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=np.int64)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    size = 1.5 + 0.45 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for i, j in np.ndindex(cm.shape):
        if cm[i, j]:
            colour = "white" if rates[i, j] > 0.5 else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    fig.tight_layout()
    return fig


def write_confusion(confusion, labels: list[str], stem: Path, title: str = "") -> None:
    """``stem.csv`` (header row of predicted labels, one row per true label) and ``stem.png``."""
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=np.int64)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["true \\ predicted", *labels])
    for label, row in zip(labels, cm.tolist(), strict=True):
        w.writerow([label, *row])
    atomic_write_text(stem.with_suffix(".csv"), buf.getvalue())
    fig = confusion_figure(cm, labels, title)
    png = io.BytesIO()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    atomic_write_bytes(stem.with_suffix(".png"), png.getvalue())
