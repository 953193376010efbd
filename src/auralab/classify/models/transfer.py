"""Transfer learning: start a classifier from weights the user supplies (``--init PATH``).

Nothing is downloaded. The file is read with ``torch.load(weights_only=True)`` and may be a bare
state dict (``{name: tensor}``), or any checkpoint holding one under ``model``, ``state_dict`` or
``ema`` (auralab checkpoints, most published ones). Parameters are copied by name, after
optional prefix renames (``{"encoder.": "body."}``) and dropping DDP's ``module.`` prefix.
Keys the model lacks, keys the file lacks and keys whose shapes differ (typically the head of a
model trained on other classes) are each listed; the rest is loaded. Nothing matching at all is
an error: it means the file belongs to another architecture.
"""

from dataclasses import dataclass, field
from pathlib import Path

import torch

from auralab.errors import AuralabError

STATE_KEYS = ("ema", "model", "state_dict", "model_state_dict", "weights")


@dataclass
class InitReport:
    """What ``load_init`` did: each list holds parameter names."""

    path: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the model, not in the file: kept random
    unexpected: list[str] = field(default_factory=list)  # in the file, not in the model: ignored
    mismatched: list[str] = field(default_factory=list)  # "name: file (a, b) vs model (c, d)"

    def lines(self) -> list[str]:
        """A human summary, one line per kind of key."""
        out = [f"{self.path}: loaded {len(self.loaded)} tensors"]
        for what, keys in (
            ("shape differs, kept the model's initialisation", self.mismatched),
            ("not in the file, kept the model's initialisation", self.missing),
            ("in the file but not in the model, ignored", self.unexpected),
        ):
            if keys:
                shown = ", ".join(keys[:4]) + (
                    f", ... ({len(keys)} in all)" if len(keys) > 4 else ""
                )
                out.append(f"  {what}: {shown}")
        return out


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict inside ``path`` (bare, or under one of ``STATE_KEYS``)."""
    path = Path(path)
    if not path.is_file():
        raise AuralabError(f"{path}: no such weights file; check the --init path")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated files, pickles with code, other formats
        first = str(e).splitlines()[0][:100] if str(e) else type(e).__name__
        raise AuralabError(
            f"{path}: cannot be read as PyTorch weights with weights_only=True ({first}); "
            "save it with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(obj, dict):
        for key in STATE_KEYS:
            if isinstance(obj.get(key), dict) and obj[key]:
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise AuralabError(
            f"{path}: holds no state dict (name -> tensor), nor one under {', '.join(STATE_KEYS)}; "
            "save it with torch.save(model.state_dict(), path)"
        )
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def load_init(
    model: torch.nn.Module,
    path: str | Path,
    rename: dict[str, str] | None = None,
    strict: bool = False,
) -> InitReport:
    """Copy matching weights from ``path`` into ``model`` in place.

    Args:
        model: the freshly built model.
        path: the user's weights file.
        rename: prefix renames applied to the file's keys first, ``{"old.": "new."}``.
        strict: refuse (``AuralabError``) any missing, unexpected or mis-shaped key instead of
            listing it; use it to check that a file fits the model exactly.

    Returns:
        An ``InitReport`` naming what was loaded and what was not.

    Raises:
        AuralabError: unreadable file, no tensor name in common with the model, or any
            difference when ``strict``.
    """
    source = _renamed(read_state_dict(path), rename or {})
    target = model.state_dict()
    report = InitReport(str(path))
    for name, tensor in source.items():
        if name not in target:
            report.unexpected.append(name)
        elif tuple(tensor.shape) != tuple(target[name].shape):
            report.mismatched.append(
                f"{name}: file {tuple(tensor.shape)} vs model {tuple(target[name].shape)}"
            )
        else:
            report.loaded.append(name)
    report.missing = [k for k in target if k not in source]
    if not report.loaded:
        raise AuralabError(
            f"{path}: no tensor name matches the model (file has e.g. {_some(source)}, model "
            f"has e.g. {_some(target)}); map prefixes with model.init_rename or use weights "
            "made for this architecture"
        )
    if strict and (report.missing or report.unexpected or report.mismatched):
        first = (report.mismatched + report.missing + report.unexpected)[0]
        raise AuralabError(
            f"{path}: does not fit the model exactly (first difference: {first}); "
            "set model.init_strict=false to load what matches"
        )
    with torch.no_grad():
        for name in report.loaded:
            target[name].copy_(source[name])
    return report


def _renamed(state: dict, rename: dict[str, str]) -> dict:
    out = {}
    for name, tensor in state.items():
        name = name.removeprefix("module.")  # saved from a DDP-wrapped model
        for old, new in rename.items():
            if name.startswith(old):
                name = new + name[len(old) :]
                break
        out[name] = tensor
    return out


def _some(state: dict) -> str:
    return ", ".join(list(state)[:3]) or "nothing"
