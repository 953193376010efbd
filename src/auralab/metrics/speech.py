"""Speech quality and intelligibility metrics, each a pure function ``(preds, target, sr)``.

``preds`` is the processed (or unprocessed noisy) waveform, ``target`` the clean reference;
both 1-D, equal length, at ``sr`` Hz. PESQ and STOI wrap their reference packages (``pesq``:
ITU-T P.862 C code; ``pystoi``: Taal et al. / Jensen & Taal), so nothing here is "estimated".
"""

import math
import warnings

import numpy as np
import pesq as _pesq
import pystoi

from auralab.metrics._inputs import as_signal_pair, require_rate

EPS = 1e-12


def pesq(preds, target, sr: int, mode: str = "wb") -> float:
    """Perceptual evaluation of speech quality (ITU-T P.862 / P.862.2), MOS-LQO.

    Args:
        preds, target: ``(T,)`` waveforms at ``sr`` Hz.
        sr: 16000 (``wb`` or ``nb``) or 8000 (``nb`` only).
        mode: ``"wb"`` (wide-band, P.862.2) or ``"nb"`` (narrow-band, P.862.1 mapping).

    Returns:
        The score (about 1.0 to 4.64 wb, 1.0 to 4.55 nb), or NaN with a warning when PESQ finds
        no speech (silent input) instead of crashing a whole evaluation.
    """
    if mode not in ("wb", "nb"):
        raise ValueError(f"pesq: mode={mode!r}; use 'wb' or 'nb'")
    require_rate(sr, (16000,) if mode == "wb" else (8000, 16000), f"pesq-{mode}")
    p, t = as_signal_pair(preds, target, "pesq")
    for label, x in (("preds", p), ("target", t)):
        if np.max(np.abs(x)) < 1e-6:  # the C code divides by the level and crashes on silence
            warnings.warn(f"pesq: {label} is silent; returning NaN", stacklevel=2)
            return math.nan
    try:
        return float(_pesq.pesq(sr, t, p, mode))
    except (_pesq.PesqError, ValueError) as e:  # NoUtterancesError is a PesqError
        warnings.warn(f"pesq: no score ({type(e).__name__}: {e}); returning NaN", stacklevel=2)
        return math.nan


def stoi(preds, target, sr: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), in [0, 1]. Any rate (pystoi
    resamples internally to 10 kHz, as the measure is defined)."""
    p, t = as_signal_pair(preds, target, "stoi")
    return float(pystoi.stoi(t, p, sr, extended=False))


def estoi(preds, target, sr: int) -> float:
    """Extended STOI (Jensen & Taal 2016), in about [0, 1]."""
    p, t = as_signal_pair(preds, target, "estoi")
    return float(pystoi.stoi(t, p, sr, extended=True))


def si_sdr(preds, target, sr: int | None = None) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019), zero-mean.

    ``sr`` is accepted for a uniform signature and not used.
    """
    p, t = as_signal_pair(preds, target, "si_sdr")
    p = p - p.mean()
    t = t - t.mean()
    scale = np.dot(p, t) / (np.dot(t, t) + EPS)
    projection = scale * t
    noise = p - projection
    return float(
        10 * np.log10((np.dot(projection, projection) + EPS) / (np.dot(noise, noise) + EPS))
    )


def snr(preds, target, sr: int | None = None) -> float:
    """Plain signal-to-noise ratio in dB: ``10 log10(|target|^2 / |target - preds|^2)``."""
    p, t = as_signal_pair(preds, target, "snr")
    return float(10 * np.log10((np.dot(t, t) + EPS) / (np.sum((t - p) ** 2) + EPS)))
