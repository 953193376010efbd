"""Augmentation of training batches, on the fly: nothing here ever writes a new "clip".

Augmented copies stored as files end up on both sides of a split (one ESC-50 project found 1,171
such overlaps); applied to a training batch as it is drawn, a variant exists for one step only
and validation never sees one. Waveform augmentations work on ``(B, T)`` batches at the model's
rate; spectrogram augmentations on ``(B, n_mels, frames)`` log-mel. Randomness comes from torch's
global generator, which the trainer seeds and saves in its checkpoints (exact resume).
"""

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from auralab.errors import ConfigError


@dataclass
class AugmentConfig:
    """The ``[augment]`` section: each augmentation has a probability ``p_*`` (0 = off).

    Ranges are ``[low, high]``, drawn uniformly per item.
    """

    p_gain: float = 0.5
    gain_db: tuple[float, float] = (-6.0, 6.0)
    p_noise: float = 0.2
    noise_snr_db: tuple[float, float] = (15.0, 40.0)
    p_shift: float = 0.5
    max_shift_s: float = 0.5  # circular time shift
    p_pitch: float = 0.0
    pitch_semitones: tuple[float, float] = (-2.0, 2.0)
    p_stretch: float = 0.0
    stretch_rate: tuple[float, float] = (0.85, 1.15)  # > 1 is faster
    p_background: float = 0.0
    background_dirs: list[str] = field(default_factory=list)
    background_snr_db: tuple[float, float] = (5.0, 20.0)
    p_specaugment: float = 0.8
    freq_masks: int = 2
    freq_width: int = 8  # mel bands, at most
    time_masks: int = 2
    time_width: int = 20  # frames, at most
    p_mixup: float = 0.5
    mixup_alpha: float = 0.4

    def __post_init__(self):
        for name, value in vars(self).items():
            if name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise ConfigError(f"config key augment.{name}={value} must be in [0, 1]")
        for name in ("gain_db", "noise_snr_db", "pitch_semitones", "stretch_rate"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ConfigError(f"config key augment.{name}=[{lo}, {hi}]: low above high")
        if self.stretch_rate[0] <= 0:
            raise ConfigError("config key augment.stretch_rate must be > 0")
        if self.p_background and not self.background_dirs:
            raise ConfigError(
                "config key augment.p_background > 0 needs augment.background_dirs "
                "(folders of background recordings)"
            )


# --- waveform -----------------------------------------------------------------------------------


def gain(wav: torch.Tensor, db: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` scaled by ``(B,)`` gains in dB."""
    return wav * (10.0 ** (db / 20.0))[:, None]


def add_noise(wav: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` plus white noise at ``(B,)`` SNRs in dB relative to each item's mean power."""
    power = wav.square().mean(dim=1, keepdim=True).clamp_min(1e-10)
    noise = torch.randn_like(wav)
    return wav + noise * torch.sqrt(power / 10.0 ** (snr_db[:, None] / 10.0))


def time_shift(wav: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` rolled circularly by ``(B,)`` integer samples (positive: later)."""
    t = wav.shape[1]
    idx = (torch.arange(t, device=wav.device)[None, :] - shift[:, None]) % t
    return wav.gather(1, idx)


def time_stretch(wav: torch.Tensor, rate: float, n_fft: int = 512) -> torch.Tensor:
    """Change speed without changing pitch (phase vocoder).

    Args:
        wav: ``(T,)`` waveform.
        rate: speed factor; 2.0 is twice as fast (half as long).
        n_fft: STFT size in samples; hop is a quarter of it.

    Returns:
        ``(round(T / rate),)`` waveform.
    """
    hop = n_fft // 4
    window = torch.hann_window(n_fft, device=wav.device)
    spec = torch.stft(wav, n_fft, hop, window=window, return_complex=True)  # (F, N)
    n_frames = spec.shape[1]
    steps = torch.arange(0, n_frames, rate, device=wav.device)
    i0 = steps.floor().long()
    frac = (steps - i0)[None, :]
    spec = F.pad(spec, (0, 2))  # two zero frames so i0 + 1 always exists
    s0, s1 = spec[:, i0], spec[:, i0 + 1]
    mag = (1 - frac) * s0.abs() + frac * s1.abs()
    # Expected phase advance of each bin over one hop, and the measured deviation from it.
    advance = torch.linspace(0, math.pi * hop, spec.shape[0], device=wav.device)[:, None]
    dphi = s1.angle() - s0.angle() - advance
    dphi = dphi - 2 * math.pi * torch.round(dphi / (2 * math.pi))
    phase = torch.cumsum(advance + dphi, dim=1)
    phase = torch.cat([torch.zeros_like(phase[:, :1]), phase[:, :-1]], dim=1) + s0[:, :1].angle()
    out = torch.polar(mag, phase)
    length = int(round(wav.shape[-1] / rate))
    return torch.istft(out, n_fft, hop, window=window, length=length)


def pitch_shift(wav: torch.Tensor, semitones: float, n_fft: int = 512) -> torch.Tensor:
    """Change pitch by ``semitones`` at the same duration: stretch, then resample back.

    Args:
        wav: ``(T,)`` waveform.

    Returns:
        ``(T,)`` waveform.
    """
    factor = 2.0 ** (semitones / 12.0)
    slower = time_stretch(wav, 1.0 / factor, n_fft)  # factor x longer, same pitch
    # Reading it factor x faster restores the duration and raises the pitch by factor.
    return F.interpolate(slower[None, None], size=wav.shape[-1], mode="linear")[0, 0]


def fit_length(wav: torch.Tensor, length: int) -> torch.Tensor:
    """``(T',)`` cut (centre) or zero-padded (end) to ``(length,)``."""
    if wav.shape[-1] >= length:
        start = (wav.shape[-1] - length) // 2
        return wav[start : start + length]
    return F.pad(wav, (0, length - wav.shape[-1]))


def mix_background(
    wav: torch.Tensor, backgrounds: list[torch.Tensor], snr_db: torch.Tensor
) -> torch.Tensor:
    """Add a random stretch of a random background recording to each item.

    Args:
        wav: ``(B, T)`` batch.
        backgrounds: ``(T_k,)`` recordings at the batch's rate (looped when shorter than T).
        snr_db: ``(B,)`` signal-to-background ratios in dB.
    """
    out = wav.clone()
    for b in range(wav.shape[0]):
        bg = backgrounds[int(torch.randint(len(backgrounds), ()))].to(wav)
        reps = -(-wav.shape[1] // bg.numel()) + 1
        bg = bg.repeat(reps)
        start = int(torch.randint(bg.numel() - wav.shape[1] + 1, ()))
        piece = bg[start : start + wav.shape[1]]
        ps = wav[b].square().mean().clamp_min(1e-10)
        pn = piece.square().mean().clamp_min(1e-10)
        out[b] += piece * torch.sqrt(ps / pn / 10.0 ** (snr_db[b] / 10.0))
    return out


# --- spectrogram --------------------------------------------------------------------------------


def spec_augment(
    feats: torch.Tensor, freq_masks: int, freq_width: int, time_masks: int, time_width: int
) -> torch.Tensor:
    """SpecAugment masks: bands and frame ranges of ``(B, M, N)`` log-mel set to the item mean.

    The mean, not zero: in log-mel, zero is a loud 0 dB, not an absence of sound.
    """
    b, m, n = feats.shape
    out = feats.clone()
    fill = feats.mean(dim=(1, 2))  # (B,)
    for axis, count, width, size in (
        (1, freq_masks, freq_width, m),
        (2, time_masks, time_width, n),
    ):
        pos = torch.arange(size, device=feats.device)[None, :]  # (1, size)
        for _ in range(count):
            w = torch.randint(0, min(width, size) + 1, (b, 1), device=feats.device)
            start = (torch.rand(b, 1, device=feats.device) * (size - w + 1)).long()
            hit = (pos >= start) & (pos < start + w)  # (B, size)
            mask = hit[:, :, None] if axis == 1 else hit[:, None, :]
            out = torch.where(mask, fill[:, None, None], out)
    return out


def mixup(
    feats: torch.Tensor, targets: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each item with another of the batch, in the power domain, and its soft target alike.

    Args:
        feats: ``(B, M, N)`` log-mel (natural log of power).
        targets: ``(B, C)`` soft targets (one-hot to start).
        alpha: Beta(alpha, alpha) parameter of the mixing weight.

    Returns:
        ``(feats, targets)`` mixed: ``log(lam e^a + (1 - lam) e^b)`` is the log-mel of the sum
        of the two sounds' powers, which mixing the logs directly would not be.
    """
    b = feats.shape[0]
    lam = torch.distributions.Beta(alpha, alpha).sample((b,)).to(feats)
    lam = torch.maximum(lam, 1 - lam)  # the item keeps the larger share: its own label dominates
    perm = torch.randperm(b, device=feats.device)
    l3 = lam[:, None, None]
    mixed = torch.logaddexp(feats + l3.log(), feats[perm] + (1 - l3).log())
    return mixed, lam[:, None] * targets + (1 - lam[:, None]) * targets[perm]


# --- the pipeline -------------------------------------------------------------------------------


class Augmenter:
    """Applies an ``AugmentConfig`` to training batches.

    Args:
        config: probabilities and ranges.
        sr: sample rate of the waveforms in Hz.
        backgrounds: background recordings at ``sr`` for ``p_background``.
    """

    def __init__(self, config: AugmentConfig, sr: int, backgrounds: list[torch.Tensor] = ()):
        self.c, self.sr, self.backgrounds = config, sr, list(backgrounds)

    def waveform(self, wav: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` -> ``(B, T)``: stretch, pitch, shift, background, noise, gain."""
        c, b = self.c, wav.shape[0]
        wav = self._per_item(wav, c.p_stretch, self._stretch)
        wav = self._per_item(wav, c.p_pitch, self._pitch)
        if c.p_shift:
            max_shift = int(c.max_shift_s * self.sr)
            shift = torch.randint(-max_shift, max_shift + 1, (b,), device=wav.device)
            wav = torch.where(self._coin(b, c.p_shift, wav), time_shift(wav, shift), wav)
        if c.p_background and self.backgrounds:
            snr = _uniform(b, c.background_snr_db, wav)
            mixed = mix_background(wav, self.backgrounds, snr)
            wav = torch.where(self._coin(b, c.p_background, wav), mixed, wav)
        if c.p_noise:
            noisy = add_noise(wav, _uniform(b, c.noise_snr_db, wav))
            wav = torch.where(self._coin(b, c.p_noise, wav), noisy, wav)
        if c.p_gain:
            db = _uniform(b, c.gain_db, wav) * self._coin(b, c.p_gain, wav)[:, 0]
            wav = gain(wav, db)
        return wav

    def spectrogram(
        self, feats: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, M, N)`` log-mel and ``(B, C)`` soft targets -> SpecAugment, then mixup."""
        c = self.c
        if c.p_specaugment:
            masked = spec_augment(feats, c.freq_masks, c.freq_width, c.time_masks, c.time_width)
            coin = self._coin(feats.shape[0], c.p_specaugment, feats)[:, :, None]
            feats = torch.where(coin, masked, feats)
        if c.p_mixup and c.mixup_alpha > 0 and float(torch.rand(())) < c.p_mixup:
            feats, targets = mixup(feats, targets, c.mixup_alpha)
        return feats, targets

    def _stretch(self, x: torch.Tensor) -> torch.Tensor:
        rate = float(_uniform(1, self.c.stretch_rate, x))
        return fit_length(time_stretch(x, rate), x.shape[-1])

    def _pitch(self, x: torch.Tensor) -> torch.Tensor:
        return pitch_shift(x, float(_uniform(1, self.c.pitch_semitones, x)))

    def _per_item(self, wav: torch.Tensor, p: float, fn) -> torch.Tensor:
        if not p:
            return wav
        hit = self._coin(wav.shape[0], p, wav)[:, 0]
        if not hit.any():
            return wav
        out = wav.clone()
        for i in torch.nonzero(hit).flatten().tolist():
            out[i] = fn(wav[i])
        return out

    @staticmethod
    def _coin(b: int, p: float, like: torch.Tensor) -> torch.Tensor:
        return (torch.rand(b, 1, device=like.device) < p).to(torch.bool)


def _uniform(b: int, bounds, like: torch.Tensor) -> torch.Tensor:
    lo, hi = bounds
    return lo + (hi - lo) * torch.rand(b, device=like.device, dtype=like.dtype)
