"""Load an enhancement model by shipped name or from a checkpoint file.

Shipped weights live inside the package (``auralab/pretrained/``), are listed in
``registry.toml`` with their sha256, and are verified before loading: nothing is downloaded.
``AURALAB_PRETRAINED_DIR`` can point at another folder holding the same files.
"""

import hashlib
import os
import tomllib
from importlib import resources
from pathlib import Path

from auralab.enhance.models import MaskingEnhancer, build_model
from auralab.errors import AuralabError, ConfigError
from auralab.train.checkpoint import load_checkpoint, save_checkpoint

DEFAULT_MODEL = "tiny"


def registry() -> dict:
    """The shipped-model registry: name -> {file, sha256, card, scores, ...}."""
    text = (resources.files("auralab") / "pretrained" / "registry.toml").read_text()
    return tomllib.loads(text)


def pretrained_path(name: str) -> Path:
    """Path of a shipped model's weights, checked against its sha256."""
    entries = registry()
    if name not in entries:
        raise ConfigError(
            f"no shipped model {name!r}; shipped: {', '.join(entries) or 'none'} "
            "(or pass a checkpoint path)"
        )
    entry = entries[name]
    folder = os.environ.get("AURALAB_PRETRAINED_DIR")
    root = Path(folder) if folder else Path(str(resources.files("auralab") / "pretrained"))
    path = root / entry["file"]
    if not path.is_file():
        raise AuralabError(
            f"{path}: weights of shipped model {name!r} are missing; reinstall auralab"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        raise AuralabError(
            f"{path}: sha256 {digest[:12]}… does not match the registry "
            f"({entry['sha256'][:12]}…); the file is corrupt or was replaced"
        )
    return path


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
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.suffix == ".pt" and not path.exists():
        path = pretrained_path(str(name_or_path))
    ckpt = load_checkpoint(path)
    for key in ("model_name", "model_config", "model"):
        if key not in ckpt:
            raise AuralabError(f"{path}: not an auralab model checkpoint (no {key!r})")
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
    """Write a slim inference checkpoint (model + config, EMA weights if any); returns sha256."""
    ckpt = load_checkpoint(checkpoint)
    weights = ckpt.get("ema") or ckpt["model"]
    state = {
        "model_name": ckpt["model_name"],
        "model_config": ckpt["model_config"],
        "model": {k: v.contiguous() for k, v in weights.items()},
        "config": ckpt.get("config", {}),
        "trainer_state": ckpt.get("trainer_state", {}),
        "notes": notes or {},
        "inference": inference or {},
    }
    out = save_checkpoint(out, state)
    return hashlib.sha256(Path(out).read_bytes()).hexdigest()
