"""Checkpoints in plain types only, so ``torch.load(weights_only=True)`` reads them.

A checkpoint rebuilds its model with no other file: it holds the registry name, constructor
arguments, the resolved config, weights, optimizer and scheduler state, counters, RNG states and
the auralab version. Writes are atomic.
"""

import io
import random
from pathlib import Path

import numpy as np
import torch

from auralab import __version__
from auralab.atomic import atomic_write_bytes
from auralab.errors import AuralabError


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Serialize ``state`` (plain types and tensors) atomically to ``path``."""
    buffer = io.BytesIO()
    torch.save({"auralab_version": __version__, **state}, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` (no code runs from the file)."""
    path = Path(path)
    if not path.is_file():
        raise AuralabError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # a truncated or foreign file surfaces as many error types
        raise AuralabError(
            f"{path}: cannot be read as an auralab checkpoint ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:100]})"
        ) from None


def rng_state() -> dict:
    """Python, NumPy and torch RNG states as plain types."""
    py = random.getstate()
    np_state = np.random.get_state()
    return {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    np_state = state["numpy"]
    np.random.set_state((np_state[0], np.array(np_state[1], dtype=np.uint32), *np_state[2:]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
