"""Load a classifier by shipped name or from a checkpoint file; export slim weights to ship.

Shipped classifiers live inside the package (``auralab/pretrained/``), are listed in
``classify.toml`` (kept apart from the enhancement models' ``registry.toml``) with their sha256,
and are verified before loading: nothing is downloaded. ``AURALAB_PRETRAINED_DIR`` can point at
another folder holding the same files.
"""

import os
from pathlib import Path

from auralab.classify.models import LogMelClassifier, build_model
from auralab.errors import AuralabError
from auralab.pretrained import read_registry, resolve_checkpoint, save_weights, verified_path

DEFAULT_MODEL = "esc10-cnn"


def registry() -> dict:
    """Shipped classifiers: name -> {file, sha256, card, labels, cv scores, ...}."""
    return read_registry("classify.toml")


def pretrained_path(name: str) -> Path:
    """Path of a shipped classifier's weights, checked against its sha256."""
    return verified_path("classify.toml", name, "classifier")


def load_classifier(
    name_or_path: str | os.PathLike = DEFAULT_MODEL, device="cpu"
) -> LogMelClassifier:
    """A ready-to-run classifier (eval mode) from a shipped name, a checkpoint or a run folder.

    Checkpoints rebuild themselves from the registry name and constructor arguments they hold
    (class labels included); EMA weights are used when the checkpoint has them.
    """
    ckpt, path = resolve_checkpoint(name_or_path, "classify.toml", "classifier")
    if "labels" not in ckpt["model_config"]:
        raise AuralabError(f"{path}: a checkpoint of another task, not a sound classifier")
    model = build_model(ckpt["model_name"], **ckpt["model_config"])
    weights = ckpt.get("ema") or ckpt["model"]
    model.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    )
    return model.to(device).eval()


def export_classifier(
    model: LogMelClassifier, name: str, out: str | os.PathLike, notes: dict | None = None
) -> str:
    """Write a slim inference checkpoint (float16 weights, config, notes); returns its sha256.

    Float16 halves the file; the loader casts back to float32, and the outputs move by about
    1e-3 in probability (checked by the tests on the shipped model).
    """
    weights = {
        k: (v.half() if v.is_floating_point() else v).contiguous()
        for k, v in model.state_dict().items()
    }
    state = {
        "model_name": name,
        "model_config": model.config(),
        "model": weights,
        "notes": notes or {},
    }
    return save_weights(out, state)
