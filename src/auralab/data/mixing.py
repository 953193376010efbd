"""Noisy speech made on the fly: clean speech plus noise at a random SNR and gain.

Every random choice of an item (noise file, SNR, gain, offsets) is drawn from
``np.random.default_rng((seed, epoch, index))`` and kept in a :class:`MixPlan`, so any item can
be rebuilt, logged or inspected (``dataset.plan(i)``) without guessing.
"""

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from auralab.audio import info, load
from auralab.audio.files import audio_files
from auralab.data.levels import active_level_db, mix_at_snr
from auralab.data.paired import _check_index, _check_seed, crop_or_pad, segment_samples
from auralab.errors import AudioError, ConfigError, DataError

Range = float | tuple[float, float]
Folders = str | os.PathLike | Sequence[str | os.PathLike]

PEAK_MAX = 0.99
"""Mixes louder than this after the random gain are scaled down to it (a little headroom)."""


@dataclass(frozen=True)
class MixPlan:
    """Every random choice behind one mixed item.

    Attributes:
        clean: clean speech file.
        noise: noise file.
        clean_offset: first sample of the clean file used (at the dataset rate).
        noise_offset: first sample of the noise used, counted in the noise looped as needed.
        length: samples in the returned signals.
        snr_db: SNR in dB: active speech level minus noise power level.
        gain_db: overall gain in dB applied to the mix and the clean target (before any
            anti-clipping scale).
    """

    clean: Path
    noise: Path
    clean_offset: int
    noise_offset: int
    length: int
    snr_db: float
    gain_db: float


class MixingDataset(Dataset):
    """Clean speech mixed with noise on the fly, at a random SNR and overall gain.

    For item ``index`` (one per clean file): a random noise file, SNR and gain are drawn; the
    clean file is cropped at a random offset to ``segment_s`` (zero-padded at the end when
    shorter); the noise is cut at a random offset (looped with an equal-power cross-fade of
    ``crossfade_s`` when shorter than needed); the noise is scaled so that the clean segment's
    active level (see :func:`auralab.data.levels.active_level_db`) minus the noise power is the
    SNR; then mix and clean get the same gain, so ``noisy - clean`` is exactly the added noise.

    Items are dicts ``{"noisy": (T,), "clean": (T,), "name": str, "snr_db": float}``: float32
    mono tensors at ``sr`` in [-1, 1], the clean file's path relative to its folder in
    ``clean_dir`` and the SNR in dB. Items are reproducible per (seed, epoch, index);
    :meth:`set_epoch` gives new mixes. For a fixed validation set, keep the epoch at 0.

    Note:
        ``DataLoader`` workers hold a copy of the dataset. Call :meth:`set_epoch` before each
        epoch's iterator is created, and leave ``persistent_workers=False``.

    Args:
        clean_dir: folder of clean speech, or a list of them (searched recursively).
        noise_dir: folder of noise, or a list of them (searched recursively; every audio file
            is used).
        snr_db: SNR range ``(lo, hi)`` in dB drawn uniformly, or one fixed value.
        segment_s: item length in seconds; ``None`` uses each whole clean file.
        sr: required sample rate in Hz; files at another rate are refused, never resampled.
        gain_db: overall gain range ``(lo, hi)`` in dB drawn uniformly, or one fixed value.
        seed: non-negative integer seed.
        crossfade_s: cross-fade in seconds where a short noise is looped.

    Raises:
        DataError: a folder is missing or holds no audio.
        AudioError: a file is unreadable, multichannel or not at ``sr`` (checked from headers).
        ConfigError: a range or length is invalid.
    """

    def __init__(
        self,
        clean_dir: Folders,
        noise_dir: Folders,
        snr_db: Range = (0.0, 20.0),
        segment_s: float | None = 4.0,
        sr: int = 16000,
        gain_db: Range = (-6.0, 6.0),
        seed: int = 0,
        crossfade_s: float = 0.05,
    ) -> None:
        self.clean_dirs, self.noise_dirs = _folders(clean_dir), _folders(noise_dir)
        self.sr = int(sr)
        self.snr_db, self.gain_db = _range(snr_db, "snr_db"), _range(gain_db, "gain_db")
        self.segment = segment_samples(segment_s, self.sr)
        self.seed = _check_seed(seed)
        self.crossfade = max(0, round(crossfade_s * self.sr))
        self.epoch = 0
        # (root, file) so that names stay relative to the folder each file came from.
        self._clean = [(d, p) for d in self.clean_dirs for p in audio_files(d, "clean speech")]
        self.clean_files = [p for _, p in self._clean]
        self.noise_files = sorted({p for d in self.noise_dirs for p in audio_files(d, "noise")})
        # Lengths from the headers: offsets can be drawn without decoding, and a wrong rate or
        # a stereo file is refused now rather than hours into training.
        self._clean_frames = [self._frames(p) for p in self.clean_files]
        self._noise_frames = [self._frames(p) for p in self.noise_files]

    def _frames(self, path: Path) -> int:
        i = info(path)
        if i.sr != self.sr:
            raise AudioError(
                f"{path}: sample rate is {i.sr} Hz, expected {self.sr} Hz; resample the folder "
                f"or set sr={i.sr}"
            )
        if i.channels != 1:
            raise AudioError(
                f"{path}: has {i.channels} channels where mono is required; downmix it first"
            )
        return i.frames

    def set_epoch(self, epoch: int) -> None:
        """Select the mixes of ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clean_files)

    def plan(self, index: int) -> MixPlan:
        """The random choices of item ``index`` at the current epoch, without loading audio."""
        index = _check_index(index, len(self))
        rng = np.random.default_rng((self.seed, self.epoch, index))
        k = int(rng.integers(len(self.noise_files)))
        snr_db, gain_db = float(rng.uniform(*self.snr_db)), float(rng.uniform(*self.gain_db))
        n_clean, n_noise = self._clean_frames[index], self._noise_frames[k]
        length = self.segment or n_clean
        clean_offset = int(rng.integers(0, max(n_clean - length, 0) + 1))
        # A long noise is cut inside the file; a short one may start anywhere and is looped.
        noise_span = n_noise - length + 1 if n_noise >= length else n_noise
        noise_offset = int(rng.integers(0, noise_span))
        return MixPlan(
            clean=self.clean_files[index],
            noise=self.noise_files[k],
            clean_offset=clean_offset,
            noise_offset=noise_offset,
            length=length,
            snr_db=snr_db,
            gain_db=gain_db,
        )

    def __getitem__(self, index: int) -> dict:
        index = _check_index(index, len(self))
        plan = self.plan(index)
        clean = load(plan.clean, sr=self.sr, mono="strict", resample_ok=False)[0]  # (T_file,)
        clean = crop_or_pad(clean, plan.clean_offset, plan.length)  # (T,)
        noise = load(plan.noise, sr=self.sr, mono="strict", resample_ok=False)[0]
        noise = loop_noise(noise, plan.noise_offset + plan.length, self.crossfade)
        noise = noise[plan.noise_offset :]  # (T,)
        noisy, noise = _mix(plan, clean, noise, self.sr)
        gain = 10.0 ** (plan.gain_db / 20.0)
        peak = gain * max(noisy.abs().max().item(), clean.abs().max().item())
        if peak > PEAK_MAX:
            # Scale mix and clean together rather than clip: clipping would make noisy - clean
            # differ from the noise, and a model would learn to undo distortion we invented.
            gain *= PEAK_MAX / peak
        clean, noise = clean * gain, noise * gain
        name = plan.clean.relative_to(self._clean[index][0]).as_posix()
        return {"noisy": clean + noise, "clean": clean, "name": name, "snr_db": plan.snr_db}


def loop_noise(noise: torch.Tensor, length: int, crossfade: int) -> torch.Tensor:
    """Noise repeated to ``length`` samples, copies joined by an equal-power cross-fade.

    Args:
        noise: ``(L,)`` noise.
        length: samples wanted.
        crossfade: cross-fade length in samples (capped at ``L // 2``); 0 butts copies.

    Returns:
        ``(length,)`` noise. When ``L >= length`` it is ``noise[:length]``, untouched.
    """
    n = noise.numel()
    if n >= length:
        return noise[:length]
    xf = min(crossfade, n // 2)
    # Equal-power (sine/cosine) fades keep the level of uncorrelated noise constant at the joint.
    t = (torch.arange(xf, dtype=torch.float64) + 0.5) / max(xf, 1) * (math.pi / 2)
    joint = noise[n - xf :] * torch.cos(t).to(noise.dtype) + noise[:xf] * torch.sin(t).to(
        noise.dtype
    )
    period = torch.cat([joint, noise[xf : n - xf]])  # (n - xf,): one more copy after the first
    reps = math.ceil((length - (n - xf)) / period.numel())
    return torch.cat([noise[: n - xf], period.repeat(reps)])[:length]


def _mix(
    plan: MixPlan, clean: torch.Tensor, noise: torch.Tensor, sr: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`mix_at_snr`, with a silent segment reported as bad data naming its file."""
    try:
        return mix_at_snr(clean, noise, plan.snr_db, sr)
    except AudioError:
        # A silent segment has no level, so no noise gain gives the SNR.
        silent_clean = not math.isfinite(active_level_db(clean, sr))
        path, offset = (
            (plan.clean, plan.clean_offset) if silent_clean else (plan.noise, plan.noise_offset)
        )
        raise DataError(
            f"{path}: the {plan.length} samples from sample {offset} used for a mix are silent; "
            "trim the silence from the file or remove it"
        ) from None


def _folders(value: Folders) -> list[Path]:
    folders = [value] if isinstance(value, str | os.PathLike) else list(value)
    if not folders:
        raise ConfigError("MixingDataset: no folder given; pass a folder or a list of folders")
    return [Path(f) for f in folders]


def _range(value: Range, name: str) -> tuple[float, float]:
    lo, hi = (value, value) if isinstance(value, int | float) else tuple(value)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ConfigError(f"{name}={value!r}: must be a number or a (low, high) pair in dB")
    return float(lo), float(hi)
