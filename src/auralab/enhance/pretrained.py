"""Load an enhancement model by shipped name or from a checkpoint file.

Shipped weights live inside the package (``auralab/pretrained/``), are listed in
``registry.toml`` with their sha256, and are verified before loading: nothing is downloaded.
``AURALAB_PRETRAINED_DIR`` can point at another folder holding the same files.
"""

import os
from pathlib import Path

from auralab.enhance.models import MaskingEnhancer, build_model
from auralab.pretrained import (
    read_registry,
    resolve_checkpoint,
    save_weights,
    slim_checkpoint,
    verified_path,
)
from auralab.train.checkpoint import load_checkpoint

DEFAULT_MODEL = "tiny"


def registry() -> dict:
    """The shipped-model registry: name -> {file, sha256, card, scores, ...}."""
    return read_registry("registry.toml")


def pretrained_path(name: str) -> Path:
    """Path of a shipped model's weights, checked against its sha256."""
    return verified_path("registry.toml", name, "model")


def load_model(
    name_or_path: str | os.PathLike = DEFAULT_MODEL,
    device="cpu",
    atten_lim_db: float | None = None,
) -> MaskingEnhancer:
    """A ready-to-run model (eval mode) from a shipped name or a checkpoint / run folder.

    Checkpoints from ``auralab train`` rebuild themselves from the registry name and constructor
    arguments they hold; EMA weights are used when the checkpoint has them. Inference settings
    stored with shipped weights (``inference = {atten_lim_db = ...}``) apply unless
    ``atten_lim_db`` overrides them (a negative value means unlimited).
    """
    ckpt, _ = resolve_checkpoint(name_or_path, "registry.toml", "model")
    model = build_model(ckpt["model_name"], **ckpt["model_config"])
    weights = ckpt.get("ema") or ckpt["model"]
    model.load_state_dict(weights)
    limit = ckpt.get("inference", {}).get("atten_lim_db") if atten_lim_db is None else atten_lim_db
    model.atten_lim_db = None if limit is None or limit < 0 else float(limit)
    return model.to(device).eval()


def export_weights(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    notes: dict | None = None,
    inference: dict | None = None,
) -> str:
    """Write a slim inference checkpoint (model + config, EMA weights if any) with ``notes``
    and the ``inference`` settings ``load_model`` applies; returns its sha256."""
    state = slim_checkpoint(load_checkpoint(checkpoint))
    state.update(notes=notes or {}, inference=inference or {})
    return save_weights(out, state)
