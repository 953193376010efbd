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
