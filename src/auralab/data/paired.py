"""Noisy/clean speech pairs read from two folders.

Files are paired by their path relative to each folder, without the extension, so the
VoiceBank-DEMAND layout (``noisy_testset_wav/p232_001.wav`` + ``clean_testset_wav/p232_001.wav``)
and plain ``noisy/`` + ``clean/`` folders both work. Anything that would silently change what is
learned or measured is refused instead: unpaired files, a wrong sample rate, stereo files, and
pairs of different lengths.
"""

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from auralab.audio import load
from auralab.audio.files import audio_files
from auralab.errors import ConfigError, DataError


def crop_or_pad(wav: torch.Tensor, offset: int, length: int) -> torch.Tensor:
    """``wav[offset : offset + length]``, zero-padded at the end to exactly ``length`` samples.

    Args:
        wav: ``(T,)`` waveform.
        offset: first sample kept.
        length: samples returned.

    Returns:
        ``(length,)`` waveform.
    """
    out = wav[offset : offset + length]
    if out.numel() < length:
        out = torch.nn.functional.pad(out, (0, length - out.numel()))
    return out


def segment_samples(segment_s: float | None, sr: int) -> int | None:
    """Segment length in samples, or ``None`` for whole files; refuses a non-positive length."""
    if segment_s is None:
        return None
    if not segment_s > 0 or round(segment_s * sr) < 1:
        raise ConfigError(f"segment_s={segment_s}: must be a positive number of seconds, or None")
    return round(segment_s * sr)


class PairedSpeechDataset(Dataset):
    """Aligned noisy/clean speech pairs, whole (evaluation) or as random crops (training).

    In training mode (``segment_s`` set) each item is one crop of ``segment_s`` seconds taken at
    ONE random offset applied to both signals, so noisy and clean stay sample-aligned. Files
    shorter than the segment are zero-padded at the end, identically for both. The offset is
    drawn from ``np.random.default_rng((seed, epoch, index))``: the same (seed, epoch, index)
    always gives the same crop, whatever the worker or order, and :meth:`set_epoch` gives new
    crops each epoch. With ``segment_s=None`` items are the full files, deterministic.

    Items are dicts ``{"noisy": (T,), "clean": (T,), "name": str}``: float32 mono tensors at
    ``sr`` and the noisy file's path relative to ``noisy_dir``.

    Note:
        ``DataLoader`` workers hold a copy of the dataset. Call :meth:`set_epoch` before each
        epoch's iterator is created, and leave ``persistent_workers=False``, or the workers
        keep the old epoch.

    Args:
        noisy_dir: folder of noisy files (searched recursively).
        clean_dir: folder of clean files with the same relative names.
        segment_s: crop length in seconds for training; ``None`` for full files.
        sr: required sample rate in Hz; files at another rate are an error, never resampled.
        seed: non-negative integer seed of the crops.

    Raises:
        DataError: a folder is missing or empty, or some files have no partner.
    """

    def __init__(
        self,
        noisy_dir: str | os.PathLike,
        clean_dir: str | os.PathLike,
        segment_s: float | None = None,
        sr: int = 16000,
        seed: int = 0,
    ) -> None:
        self.noisy_dir, self.clean_dir = Path(noisy_dir), Path(clean_dir)
        self.sr = int(sr)
        self.segment = segment_samples(segment_s, self.sr)
        self.seed = _check_seed(seed)
        self.epoch = 0
        self.pairs: list[tuple[Path, Path]] = self._pair()

    def _fix(self) -> str:
        return f"run `auralab check pairs {self.noisy_dir} {self.clean_dir}`"

    def _pair(self) -> list[tuple[Path, Path]]:
        noisy = _by_key(audio_files(self.noisy_dir, "noisy", self._fix()), self.noisy_dir)
        clean = _by_key(audio_files(self.clean_dir, "clean", self._fix()), self.clean_dir)
        # Same relative path on both sides, as `auralab check pairs` and `evaluate` pair them.
        alone = sorted(
            [(k, f"{p} has no clean partner") for k, p in noisy.items() if k not in clean]
            + [(k, f"{p} has no noisy partner") for k, p in clean.items() if k not in noisy]
        )
        if alone:
            named = ", ".join(msg for _, msg in alone[:3])
            more = f" and {len(alone) - 3} more" if len(alone) > 3 else ""
            raise DataError(f"{len(alone)} unpaired files: {named}{more}; {self._fix()}")
        return [(noisy[k], clean[k]) for k in sorted(noisy)]

    def set_epoch(self, epoch: int) -> None:
        """Select the crops of ``epoch`` (training mode); evaluation items do not change."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        index = _check_index(index, len(self))
        noisy_path, clean_path = self.pairs[index]
        noisy = load(noisy_path, sr=self.sr, mono="strict", resample_ok=False)[0]  # (T,)
        clean = load(clean_path, sr=self.sr, mono="strict", resample_ok=False)[0]  # (T,)
        if noisy.numel() != clean.numel():
            raise DataError(
                f"{noisy_path} has {noisy.numel()} samples but {clean_path} has {clean.numel()} "
                f"(at {self.sr} Hz); a pair must be sample-aligned and of equal length — re-export "
                f"it or drop it ({self._fix()})"
            )
        if self.segment is not None:
            offset = self._offset(index, noisy.numel())
            # One offset for both signals: separate crops would teach the model to hallucinate.
            noisy = crop_or_pad(noisy, offset, self.segment)
            clean = crop_or_pad(clean, offset, self.segment)
        name = noisy_path.relative_to(self.noisy_dir).as_posix()
        return {"noisy": noisy, "clean": clean, "name": name}

    def _offset(self, index: int, length: int) -> int:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        return int(rng.integers(0, max(length - self.segment, 0) + 1))


def _by_key(files: list[Path], root: Path) -> dict[str, Path]:
    return {path.relative_to(root).as_posix(): path for path in files}


def _check_seed(seed: int) -> int:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed={seed!r}: must be a non-negative integer")
    return int(seed)


def _check_index(index: int, n: int) -> int:
    # Negative indices are mapped first so that items[-1] and items[n - 1] get the same crop.
    if not -n <= index < n:
        raise IndexError(f"index {index} out of range for a dataset of {n} items")
    return index % n
