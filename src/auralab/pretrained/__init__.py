"""Shipped weights: small files inside this folder, listed in TOML registries with sha256.

One registry per task (``registry.toml`` enhancement, ``classify.toml``, ``eq.toml``). Every
file is checked against its sha256 before it is loaded; nothing is ever downloaded.
``AURALAB_PRETRAINED_DIR`` can point at another folder holding the same files.
"""

import hashlib
import os
import tomllib
from importlib import resources
from pathlib import Path

from auralab.errors import AuralabError, ConfigError


def read_registry(registry_file: str) -> dict:
    """Entries of one registry file: name -> {file, sha256, card, scores, ...}."""
    return tomllib.loads((resources.files("auralab") / "pretrained" / registry_file).read_text())


def verified_path(registry_file: str, name: str, kind: str = "model") -> Path:
    """Path of shipped weights ``name`` from ``registry_file``, checked against its sha256.

    Raises:
        ConfigError: ``name`` is not shipped (the message lists what is).
        AuralabError: the file is missing or its sha256 differs from the registry.
    """
    entries = read_registry(registry_file)
    if name not in entries:
        raise ConfigError(
            f"no shipped {kind} {name!r}; shipped: {', '.join(entries) or 'none'} "
            "(or pass a checkpoint path)"
        )
    folder = os.environ.get("AURALAB_PRETRAINED_DIR")
    root = Path(folder) if folder else Path(str(resources.files("auralab") / "pretrained"))
    path = root / entries[name]["file"]
    if not path.is_file():
        raise AuralabError(f"{path}: weights of shipped {kind} {name!r} are missing; reinstall")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = entries[name]["sha256"]
    if digest != expected:
        raise AuralabError(
            f"{path}: sha256 {digest[:12]}… does not match {registry_file} ({expected[:12]}…); "
            "the file is corrupt or was replaced"
        )
    return path


def resolve_checkpoint(
    name_or_path: str | os.PathLike, registry_file: str, kind: str = "model"
) -> tuple[dict, Path]:
    """Load the checkpoint behind a shipped name, a ``.pt`` file or a run folder.

    A run folder gives its ``best.pt`` (``last.pt`` when there is no best yet); a name that is
    no file is looked up in ``registry_file`` and verified. The checkpoint must hold
    ``model_name``, ``model_config`` and ``model`` (what rebuilds it).

    Returns:
        ``(checkpoint dict, path it was read from)``.
    """
    from auralab.train.checkpoint import load_checkpoint  # torch only when a model is loaded

    path = Path(name_or_path)
    if path.is_dir():
        path = path / ("best.pt" if (path / "best.pt").exists() else "last.pt")
    elif path.suffix != ".pt" and not path.exists():
        path = verified_path(registry_file, str(name_or_path), kind)
    ckpt = load_checkpoint(path)
    for key in ("model_name", "model_config", "model"):
        if key not in ckpt:
            raise AuralabError(f"{path}: not an auralab {kind} checkpoint (no {key!r})")
    return ckpt, path


def slim_checkpoint(ckpt: dict) -> dict:
    """What inference needs from a training checkpoint: model name, constructor config and
    weights (the EMA weights when there are any), plus the run's config and trainer state for
    the record; no optimizer, no RNG state."""
    weights = ckpt.get("ema") or ckpt["model"]
    return {
        "model_name": ckpt["model_name"],
        "model_config": ckpt["model_config"],
        "model": {k: v.contiguous() for k, v in weights.items()},
        "config": ckpt.get("config", {}),
        "trainer_state": ckpt.get("trainer_state", {}),
    }


def save_weights(out: str | os.PathLike, state: dict) -> str:
    """Save ``state`` as a plain-type checkpoint (atomic) and return the file's sha256, the
    value a registry entry records."""
    from auralab.train.checkpoint import save_checkpoint

    path = save_checkpoint(out, state)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
