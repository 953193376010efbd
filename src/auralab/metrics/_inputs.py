"""Input checks shared by the metric functions: one-line errors instead of deep tracebacks."""

import numpy as np

from auralab.errors import AudioError


def as_signal_pair(preds, target, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(preds, target)`` and return them as 1-D float64 arrays.

    Args:
        preds, target: 1-D waveforms (numpy arrays or torch tensors) of equal length.
        name: metric name, used in error messages.
    """
    p = _to_numpy(preds)
    t = _to_numpy(target)
    for label, x in (("preds", p), ("target", t)):
        if x.ndim != 1:
            raise AudioError(f"{name}: {label} has shape {x.shape}; pass one mono 1-D waveform")
        if x.size == 0:
            raise AudioError(f"{name}: {label} is empty; pass a waveform with samples")
        if not np.isfinite(x).all():
            raise AudioError(f"{name}: {label} contains NaN or infinite samples; fix the signal")
    if p.size != t.size:
        raise AudioError(
            f"{name}: preds has {p.size} samples, target has {t.size}; "
            "align and trim the pair first (see `auralab check pairs`)"
        )
    return p, t


def require_rate(sr: int, allowed: tuple[int, ...], name: str) -> None:
    """Refuse sample rates a metric is not defined for (never resample behind the caller)."""
    if sr not in allowed:
        rates = " or ".join(str(r) for r in allowed)
        raise AudioError(
            f"{name}: needs {rates} Hz audio, got {sr} Hz; resample explicitly first "
            f"(auralab.audio.resample(wav, {sr}, {allowed[-1]}))"
        )


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)
