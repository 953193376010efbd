"""Speech levels and mixing at a signal-to-noise ratio.

All levels are in dB relative to digital full scale power: ``10 * log10(mean(x ** 2))`` for a
waveform in [-1, 1]. A full-scale square wave is 0 dB and a full-scale sine is -3.01 dB.

The SNR used throughout auralab is *active speech level* of the clean signal minus the *power
level* of the noise over the whole signal. Measuring speech over its active part only means that
silence at the edges of a file, or zero padding, does not change the SNR a mix is made at.
"""

import math

import numpy as np
import torch

from auralab.errors import AudioError

FRAME_MS = 20.0
"""Frame length in ms of the active-level estimate."""

ACTIVE_THRESHOLD_DB = 30.0
"""A frame is active when its power is at most this many dB below the reference frame power."""

SILENCE_FLOOR_DB = -100.0
"""Frames quieter than this (digital silence, zero padding) are never active."""

REFERENCE_PERCENTILE = 95.0
"""Percentile of the non-silent frame powers taken as "the loudest frames" (ignores clicks)."""


def power_db(wav: torch.Tensor | np.ndarray) -> float:
    """Power level of a whole signal.

    Args:
        wav: ``(T,)`` waveform in [-1, 1], any sample rate.

    Returns:
        ``10 * log10(mean(wav ** 2))`` in dB re full scale; ``-inf`` for an all-zero signal.
    """
    x = _as_float64(wav)
    power = float(np.mean(x**2))
    return 10.0 * math.log10(power) if power > 0 else -math.inf


def active_level_db(
    wav: torch.Tensor | np.ndarray,
    sr: int,
    threshold_db: float = ACTIVE_THRESHOLD_DB,
    frame_ms: float = FRAME_MS,
) -> float:
    """Active speech level: the power of a signal over its active frames only.

    A simple estimate in the spirit of ITU-T P.56 (speech level measured where speech is
    present), not P.56 method B itself: there is no envelope follower or hang-over. Exactly:

    1. cut the signal into consecutive 20 ms frames (``frame_ms``; the last may be shorter) and
       take each frame's power (mean square);
    2. frames below -100 dB (``SILENCE_FLOOR_DB``: digital silence, zero padding) are inactive;
    3. the reference is the 95th percentile of the other frames' powers (the loudest frames,
       but not a single click);
    4. a frame is active when its power is at least ``reference - threshold_db`` (30 dB);
    5. the level is the total energy of the active frames over their total number of samples.

    A steady signal (tone, stationary noise) has every frame active, so its active level is its
    whole-signal power level; appending silence to it leaves the active level unchanged.

    Args:
        wav: ``(T,)`` waveform in [-1, 1].
        sr: sample rate in Hz (sets the frame length in samples).
        threshold_db: how far below the reference a frame may be and still count, in dB.
        frame_ms: frame length in ms.

    Returns:
        Active level in dB re full scale (same scale as :func:`power_db`); ``-inf`` when no
        frame is above the silence floor.
    """
    sums, counts = _frame_energies(_as_float64(wav), sr, frame_ms)
    powers = sums / counts
    audible = powers > 10.0 ** (SILENCE_FLOOR_DB / 10.0)
    if not audible.any():
        return -math.inf
    reference = np.percentile(powers[audible], REFERENCE_PERCENTILE)
    active = audible & (powers >= reference * 10.0 ** (-threshold_db / 10.0))
    return 10.0 * math.log10(sums[active].sum() / counts[active].sum())


def mix_at_snr(
    clean: torch.Tensor, noise: torch.Tensor, snr_db: float, sr: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale noise so that clean + noise has the wanted SNR, and add them.

    The SNR is ``active_level_db(clean, sr) - power_db(scaled_noise)``: active speech level
    against the noise power over the whole signal. The clean signal is not changed, so
    ``noisy - clean == scaled_noise`` (up to float32 rounding).

    Args:
        clean: ``(T,)`` clean speech in [-1, 1] at ``sr``.
        noise: ``(T,)`` noise, same length and rate; its level does not matter.
        snr_db: wanted SNR in dB.
        sr: sample rate in Hz.

    Returns:
        ``(noisy, scaled_noise)``, both ``(T,)`` with the dtype of ``clean``. The mix is not
        clipped or normalised: its peak may exceed 1 at low SNR.

    Raises:
        AudioError: shapes differ or are not ``(T,)``; clean or noise is silent, so no gain
            can give the SNR.
    """
    if clean.ndim != 1 or clean.shape != noise.shape:
        raise AudioError(
            f"mix_at_snr: clean {tuple(clean.shape)} and noise {tuple(noise.shape)} must both be "
            "(T,) with the same T; crop or loop the noise to the clean length first"
        )
    speech_db, noise_db = active_level_db(clean, sr), power_db(noise)
    if not (math.isfinite(speech_db) and math.isfinite(noise_db)):
        which = "clean" if not math.isfinite(speech_db) else "noise"
        raise AudioError(f"mix_at_snr: the {which} signal is silent; no gain gives an SNR to it")
    gain = 10.0 ** ((speech_db - snr_db - noise_db) / 20.0)
    scaled_noise = (noise.to(torch.float64) * gain).to(clean.dtype)
    return clean + scaled_noise, scaled_noise


def _as_float64(wav: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise AudioError(f"level: expected a non-empty (T,) waveform, got shape {x.shape}")
    return x


def _frame_energies(x: np.ndarray, sr: int, frame_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Energy (sum of squares) and sample count of each consecutive frame of ``x``."""
    frame = max(1, round(frame_ms * sr / 1000.0))
    starts = np.arange(0, x.size, frame)
    sums = np.add.reduceat(x**2, starts)
    counts = np.diff(np.append(starts, x.size)).astype(np.float64)
    return sums, counts
