"""Labelled clips as torch datasets: decoded once, held in memory, cropped on the fly.

``load_clips`` decodes a ``ClipTable`` (ESC-50, CSV or folder-per-class layout, see
``auralab.check.dataset``) at one explicit sample rate into a ``(N, T)`` tensor, every clip padded
or cut to ``clip_s`` seconds. 400 five-second clips at 16 kHz take 128 MB, so a cross-validation
decodes once and every fold indexes the same tensor. ``ClipDataset`` hands out
``{"wav": (T,), "label": int, "name": str}``: whole clips for evaluation, or for training a random
crop that avoids the digital silence ESC-50 pads its clips with. No augmented copy is ever stored:
augmentation happens on training batches (``auralab.classify.augment``).
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from auralab.audio.io import load
from auralab.check.dataset import Clip, ClipTable, read_table
from auralab.errors import AuralabError, DataError

CROP_GRID_S = 0.05  # crop starts are chosen on this grid
# A training crop must hold at least this fraction of the energy of the clip's loudest crop;
# otherwise a 2 s crop of a 5 s clip padded with silence can hold no sound at all.
MIN_CROP_ENERGY = 0.1


@dataclass
class ClipAudio:
    """Decoded clips of one table.

    Attributes:
        table: the clips, labels, groups and folds.
        wav: ``(N, T)`` float32 waveforms at ``sr`` Hz, all ``clip_s`` long (zero-padded).
        lengths: ``(N,)`` samples of real audio in each row before padding.
        sr: sample rate in Hz.
    """

    table: ClipTable
    wav: torch.Tensor
    lengths: torch.Tensor
    sr: int

    @property
    def targets(self) -> np.ndarray:
        return np.array([self.table.label_index(c) for c in self.table.clips], dtype=np.int64)


def open_table(path: str | os.PathLike) -> ClipTable:
    """``read_table`` that refuses a dataset with errors (missing files, leaking groups, ...)."""
    table = read_table(path)
    errors = [f for f in table.findings if f.is_error]
    if errors:
        raise DataError(
            f"{len(errors)} problems in dataset {path} (first: {errors[0].line()}); "
            f"see `auralab check dataset {path}`"
        )
    return table


def load_clips(table: ClipTable, sr: int, clip_s: float) -> ClipAudio:
    """Decode every clip of ``table`` at ``sr`` Hz (resampled with soxr), ``clip_s`` s each.

    Longer clips keep their first ``clip_s`` seconds; shorter ones are zero-padded at the end.

    Raises:
        DataError: any clip cannot be decoded (all are named in one message).
    """
    n = int(round(clip_s * sr))
    wav = torch.zeros(len(table.clips), n)
    lengths = torch.zeros(len(table.clips), dtype=torch.long)
    bad = []
    for i, clip in enumerate(table.clips):
        try:
            x, _ = load(clip.path, sr=sr)  # (T,) mono
        except AuralabError as e:
            bad.append(str(e))
            continue
        k = min(n, x.numel())
        wav[i, :k] = x[:k]
        lengths[i] = k
    if bad:
        raise DataError(f"{len(bad)} clips cannot be decoded (first: {bad[0]})")
    return ClipAudio(table, wav, lengths, sr)


class ClipDataset(Dataset):
    """Items of a ``ClipAudio``: ``{"wav": (T,), "label": int, "name": str}``.

    Args:
        audio: decoded clips.
        indices: which rows of ``audio`` belong to this dataset (one fold, several, ...).
        crop_s: training crop length in seconds; ``None`` gives whole clips (evaluation).
        seed: crops depend on (seed, epoch, index) only, so a resumed run sees the same crops.
    """

    def __init__(
        self,
        audio: ClipAudio,
        indices: list[int] | np.ndarray,
        crop_s: float | None = None,
        seed: int = 0,
    ):
        self.audio, self.indices = audio, np.asarray(indices, dtype=np.int64)
        self.crop = None if crop_s is None else int(round(crop_s * audio.sr))
        if self.crop is not None and not 0 < self.crop <= audio.wav.shape[1]:
            raise DataError(
                f"crop of {crop_s} s does not fit clips of {audio.wav.shape[1] / audio.sr} s; "
                "set data.crop_s between 0 and data.clip_s"
            )
        self.seed, self.epoch = seed, 0
        self.targets = audio.targets[self.indices]
        self._starts = self._crop_starts() if self.crop is not None else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        row = int(self.indices[i])
        wav = self.audio.wav[row]
        if self.crop is not None:
            rng = np.random.default_rng((self.seed, self.epoch, row))
            start = int(rng.choice(self._starts[i]))
            wav = wav[start : start + self.crop]
        clip: Clip = self.audio.table.clips[row]
        return {"wav": wav, "label": int(self.targets[i]), "name": clip.id}

    def _crop_starts(self) -> list[np.ndarray]:
        """Per item, the crop starts (samples) whose crop holds enough of the clip's energy."""
        grid = max(1, int(CROP_GRID_S * self.audio.sr))
        starts = []
        for row in self.indices:
            energy = self.audio.wav[row].double().square()
            cum = torch.cat([torch.zeros(1, dtype=energy.dtype), energy.cumsum(0)])
            s = torch.arange(0, energy.numel() - self.crop + 1, grid)
            e = cum[s + self.crop] - cum[s]  # energy of each candidate crop
            keep = s[e >= MIN_CROP_ENERGY * e.max()] if e.max() > 0 else s
            starts.append(keep.numpy())
        return starts


def dataset_path(root: str) -> Path:
    """``data.root`` as a path, refusing an empty setting with its fix."""
    if not root:
        raise DataError(
            "config key data.root is empty; set it to a dataset folder (ESC-50 layout, a CSV of "
            "path,label[,group] or one folder per class)"
        )
    return Path(root)
