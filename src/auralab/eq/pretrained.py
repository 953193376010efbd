"""Load a semantic-EQ model by shipped name or from a checkpoint file or run folder.

Shipped weights live inside the package (``auralab/pretrained/``), are listed in ``eq.toml``
with their sha256 and verified before loading: nothing is downloaded. ``AURALAB_PRETRAINED_DIR``
can point at another folder holding the same files.
"""

import os
from pathlib import Path

from auralab.eq.models import EqModel, build_model
from auralab.errors import AuralabError
from auralab.pretrained import (
    read_registry,
    resolve_checkpoint,
    save_weights,
    slim_checkpoint,
    verified_path,
)

DEFAULT_MODEL = "eq-default"


def registry() -> dict:
    """The shipped EQ models: name -> {file, sha256, card, scores, ...}."""
    return read_registry("eq.toml")


def pretrained_path(name: str) -> Path:
    """Path of a shipped model's weights, checked against its sha256."""
    return verified_path("eq.toml", name, "EQ model")


def load_checkpoint_of(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> tuple[dict, Path]:
    """The checkpoint dict of a shipped name, a ``.pt`` file or a run folder (its best.pt)."""
    ckpt, path = resolve_checkpoint(name_or_path, "eq.toml", "EQ model")
    if "terms" not in ckpt["model_config"]:
        raise AuralabError(f"{path}: not a semantic-EQ checkpoint (its model has no terms)")
    return ckpt, path


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> EqModel:
    """A ready model (eval mode, CPU) from a shipped name or a checkpoint / run folder."""
    ckpt, _ = load_checkpoint_of(name_or_path)
    model = build_model(ckpt["model_name"], **ckpt["model_config"])
    model.load_state_dict(ckpt.get("ema") or ckpt["model"])
    return model.eval()


def export_weights(checkpoint: str | os.PathLike, out: str | os.PathLike) -> str:
    """Write a slim inference checkpoint (model, config; no optimizer); returns its sha256."""
    ckpt, _ = load_checkpoint_of(checkpoint)
    return save_weights(out, slim_checkpoint(ckpt))
