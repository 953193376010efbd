"""Run folders: ``runs/<name>/`` with config.toml, metrics.jsonl, curves and checkpoints."""

import json
import math
import os
from pathlib import Path

from auralab.atomic import atomic_write_bytes, atomic_write_text  # noqa: F401 (re-exported)


class MetricsLog:
    """Append-only ``metrics.jsonl``: one JSON object per line, each with a ``step``."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, record: dict) -> None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()
        }
        with open(self.path, "a") as f:
            f.write(json.dumps(clean) + "\n")

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step``: after a resume they would be logged again."""
        kept = [r for r in self.read() if r.get("step", 0) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))


def plot_curves(records: list[dict], path: Path) -> None:
    """``training_curves.png``: training loss and each validation metric against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in records if "train/loss" in r]
    val = [r for r in records if any(k.startswith("val/") for k in r)]
    val_keys = sorted({k for r in val for k in r if k.startswith("val/")})
    n = 1 + len(val_keys)
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3.2), squeeze=False)
    axes[0, 0].plot([r["step"] for r in train], [r["train/loss"] for r in train], lw=1)
    axes[0, 0].set(title="training loss", xlabel="step")
    for ax, key in zip(axes[0, 1:], val_keys, strict=True):
        pts = [(r["step"], r[key]) for r in val if r.get(key) is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3)
        ax.set(title=key, xlabel="step")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
