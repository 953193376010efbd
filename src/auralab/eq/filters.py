"""The 5-band equaliser of SAFE as RBJ biquads: a differentiable response and an audio filter.

Band order follows the 13 SAFE parameters: a low shelf, three peaking bands, a high shelf. The
coefficients come from R. Bristow-Johnson's "Audio EQ Cookbook" (bilinear transform with the
centre frequency pre-warped). Shelves have no Q in SAFE; they use the cookbook's shelf slope
S = 1 (Q = 1/sqrt(2)), the steepest slope without overshoot.

One function computes the coefficients, in torch; :func:`magnitude_db` evaluates their response
on any frequency grid (differentiable, used by the losses), and :func:`apply_eq` runs the same
coefficients over audio with ``scipy.signal.sosfilt``, so what is trained on is what is heard.
"""

import math

import numpy as np
import torch
from scipy import signal

from auralab.eq.normalise import FREQ_HZ, N_PARAMS
from auralab.errors import AudioError, ConfigError

BAND_TYPES: tuple[str, ...] = ("low_shelf", "peaking", "peaking", "peaking", "high_shelf")
SHELF_Q = 1 / math.sqrt(2)
# A band asked for above this fraction of the sample rate is designed at it: the bilinear
# transform cannot place a corner at or above Nyquist. At 44.1 and 48 kHz nothing moves.
MAX_FREQ_RATIO = 0.49
RESPONSE_SR = 44100  # rate at which responses are compared (SAFE was recorded at 44.1 kHz)


def split_bands(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Physical settings ``(..., 13)`` -> gain dB, frequency Hz, Q, each ``(..., 5)``."""
    if params.shape[-1] != N_PARAMS:
        raise ConfigError(
            f"an EQ setting has {N_PARAMS} parameters (SAFE order), got shape {tuple(params.shape)}"
        )
    p = params
    gain = torch.stack([p[..., 0], p[..., 2], p[..., 5], p[..., 8], p[..., 11]], -1)
    freq = torch.stack([p[..., 1], p[..., 3], p[..., 6], p[..., 9], p[..., 12]], -1)
    shelf_q = torch.full_like(p[..., 0], SHELF_Q)
    q = torch.stack([shelf_q, p[..., 4], p[..., 7], p[..., 10], shelf_q], -1)
    return gain, freq, q


def biquad_coefficients(params: torch.Tensor, sr: float) -> torch.Tensor:
    """Second-order sections of a setting, differentiable in every parameter.

    Args:
        params: ``(..., 13)`` physical settings (dB, Hz, Q).
        sr: sample rate in Hz.

    Returns:
        ``(..., 5, 6)`` float64 sections ``[b0, b1, b2, 1, a1, a2]`` (normalised by a0), in
        band order, as ``scipy.signal.sosfilt`` takes them.
    """
    gain, freq, q = split_bands(torch.as_tensor(params, dtype=torch.float64))
    freq = freq.clamp(max=MAX_FREQ_RATIO * sr)
    amp = 10 ** (gain / 40)  # A in the cookbook: sqrt of the linear gain
    w0 = 2 * math.pi * freq / sr
    cos, alpha = torch.cos(w0), torch.sin(w0) / (2 * q)
    b, a = _peaking(amp, cos, alpha)
    b_low, a_low = _shelf(amp, cos, alpha, high=False)
    b_high, a_high = _shelf(amp, cos, alpha, high=True)
    band = torch.arange(5, device=gain.device)
    b = torch.where(band == 0, b_low, torch.where(band == 4, b_high, b))  # (3, ..., 5)
    a = torch.where(band == 0, a_low, torch.where(band == 4, a_high, a))
    sos = torch.cat([b / a[:1], a / a[:1]], 0)  # (6, ..., 5)
    return sos.movedim(0, -1)


def _peaking(amp, cos, alpha):
    b = torch.stack([1 + alpha * amp, -2 * cos, 1 - alpha * amp])
    a = torch.stack([1 + alpha / amp, -2 * cos, 1 - alpha / amp])
    return b, a


def _shelf(amp, cos, alpha, high: bool):
    # The cookbook's low and high shelves differ only in these signs: one function, in step.
    sign = -1 if high else 1
    sq = 2 * torch.sqrt(amp) * alpha
    b = amp * torch.stack(
        [
            (amp + 1) - sign * (amp - 1) * cos + sq,
            sign * 2 * ((amp - 1) - sign * (amp + 1) * cos),
            (amp + 1) - sign * (amp - 1) * cos - sq,
        ]
    )
    a = torch.stack(
        [
            (amp + 1) + sign * (amp - 1) * cos + sq,
            -sign * 2 * ((amp - 1) + sign * (amp + 1) * cos),
            (amp + 1) + sign * (amp - 1) * cos - sq,
        ]
    )
    return b, a


def log_frequency_grid(n: int = 128, low: float = FREQ_HZ[0], high: float = FREQ_HZ[1]):
    """``(n,)`` float64 frequencies in Hz, equally spaced on a log axis from ``low`` to ``high``."""
    return torch.logspace(math.log10(low), math.log10(high), n, dtype=torch.float64)


def magnitude_db(
    params: torch.Tensor, freqs: torch.Tensor | None = None, sr: float = RESPONSE_SR
) -> torch.Tensor:
    """Magnitude response in dB of settings at ``freqs``, differentiable.

    Evaluated in float64 with the cookbook's ``sin^2(w/2)`` form, which stays accurate at
    20 Hz where the direct ``|B(e^jw)|^2`` form cancels catastrophically.

    Args:
        params: ``(..., 13)`` physical settings (dB, Hz, Q).
        freqs: ``(F,)`` frequencies in Hz (default: 128 log-spaced, 20 Hz to 20 kHz).
        sr: sample rate in Hz the filters are designed at.

    Returns:
        ``(..., F)`` response in dB, float64.
    """
    freqs = log_frequency_grid() if freqs is None else torch.as_tensor(freqs, dtype=torch.float64)
    sos = biquad_coefficients(params, sr)[..., None, :]  # (..., 5, 1, 6)
    phi = torch.sin(math.pi * freqs.to(sos.device) / sr) ** 2  # (F,)
    num = _power(sos[..., 0], sos[..., 1], sos[..., 2], phi)
    den = _power(sos[..., 3], sos[..., 4], sos[..., 5], phi)
    return 10 * torch.log10(num / den).sum(-2)  # sum over the 5 bands


def _power(c0, c1, c2, phi):
    # |c0 + c1 z^-1 + c2 z^-2|^2 at z = e^jw, written with phi = sin^2(w/2).
    return (c0 + c1 + c2) ** 2 - 4 * (c0 * c1 + 4 * c0 * c2 + c1 * c2) * phi + 16 * c0 * c2 * phi**2


def sos(params, sr: float) -> np.ndarray:
    """``(5, 6)`` float64 second-order sections of one physical setting ``(13,)`` at ``sr`` Hz."""
    p = torch.as_tensor(np.asarray(params, dtype=np.float64))
    if p.shape != (N_PARAMS,):
        raise ConfigError(f"one EQ setting has shape ({N_PARAMS},), got {tuple(p.shape)}")
    return np.ascontiguousarray(biquad_coefficients(p, sr).detach().numpy())


def apply_eq(wav, sr: int, params):
    """Equalise audio with one setting, at the audio's own sample rate.

    Args:
        wav: ``(T,)`` or ``(C, T)`` waveform (torch or numpy), any sample rate ``sr`` in Hz.
        sr: sample rate of ``wav`` in Hz.
        params: ``(13,)`` physical setting (dB, Hz, Q).

    Returns:
        The equalised waveform, same shape and type as ``wav`` (float32).
    """
    if sr <= 0:
        raise AudioError(f"sample rate {sr} Hz is not positive; pass the audio's real rate")
    is_torch = isinstance(wav, torch.Tensor)
    x = wav.detach().cpu().numpy() if is_torch else np.asarray(wav)
    y = signal.sosfilt(sos(params, sr), x.astype(np.float64), axis=-1).astype(np.float32)
    return torch.from_numpy(y) if is_torch else y
