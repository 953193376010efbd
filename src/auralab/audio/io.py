"""Load and save audio files with errors a user can act on.

``soundfile`` reads WAV, FLAC, OGG/Vorbis, Opus and MP3. Nothing is resampled unless the caller
asks for a rate, and nothing is downmixed unless the caller asks for mono: a silent conversion is
how evaluation numbers stop meaning what they say.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import torch

from auralab.atomic import publish
from auralab.audio.resample import resample
from auralab.errors import AudioError

Mono = bool | Literal["strict"]


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header without decoding the samples."""

    path: str
    sr: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sr


def info(path: str | os.PathLike) -> AudioInfo:
    """Read sample rate, channel count and length of an audio file from its header.

    (``torchaudio.info`` is gone from recent torchaudio; this is auralab's replacement.)
    """
    path = _existing(path)
    try:
        i = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(
            f"{path}: cannot be read as audio ({_short(e)}); re-export it as WAV or FLAC"
        ) from None
    return AudioInfo(str(path), int(i.samplerate), int(i.channels), int(i.frames))


def load(
    path: str | os.PathLike,
    sr: int | None = None,
    mono: Mono = True,
    resample_ok: bool = True,
) -> tuple[torch.Tensor, int]:
    """Load an audio file as float32 in [-1, 1].

    Args:
        path: a WAV, FLAC, OGG or MP3 file.
        sr: wanted sample rate in Hz; ``None`` keeps the file's rate. A different file rate is
            resampled with soxr when ``resample_ok``, and is an error otherwise.
        mono: ``True`` averages the channels; ``False`` keeps them; ``"strict"`` refuses a
            multichannel file (use it where a downmix would change what is measured).
        resample_ok: whether a file at another rate than ``sr`` may be resampled.

    Returns:
        ``(wav, sr)``: ``wav`` is ``(T,)`` when mono, else ``(C, T)``; ``sr`` is in Hz.

    Raises:
        AudioError: missing, unreadable or empty file; NaN or infinite samples; multichannel
            file with ``mono="strict"``; wrong rate with ``resample_ok=False``.
    """
    path = _existing(path)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(
            f"{path}: cannot be decoded ({_short(e)}); the file is corrupt or not audio — "
            "re-export it as WAV or FLAC"
        ) from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no samples; remove it or replace it with real audio")
    _check_finite(data, file_sr, path)
    wav = torch.from_numpy(np.ascontiguousarray(data.T))  # (C, T)
    wav = _to_channels(wav, mono, path)
    if sr is not None and sr != file_sr:
        if not resample_ok:
            raise AudioError(
                f"{path}: sample rate is {file_sr} Hz, expected {sr} Hz; resample the file "
                f"(e.g. `auralab.audio.load(path, sr={sr})`) or set the expected rate to {file_sr}"
            )
        wav = resample(wav, file_sr, sr)
        file_sr = sr
    return wav, int(file_sr)


def save(
    path: str | os.PathLike, wav: torch.Tensor | np.ndarray, sr: int, subtype: str | None = None
) -> Path:
    """Write audio atomically (temporary file in the same folder, then rename).

    Args:
        path: output file; the format follows the extension (.wav, .flac, .ogg).
        wav: ``(T,)`` or ``(C, T)`` float waveform in [-1, 1].
        sr: sample rate in Hz.
        subtype: soundfile subtype. Default ``FLOAT`` for WAV (lossless for our float output)
            and ``PCM_16`` for FLAC. Integer subtypes refuse samples outside [-1, 1] rather
            than clipping them silently.

    Returns:
        The written path.
    """
    path = Path(path)
    x = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    x = x.astype(np.float32)
    if x.ndim not in (1, 2) or x.size == 0:
        raise AudioError(
            f"{path}: cannot save a waveform of shape {x.shape}; expected (T,) or (C, T)"
        )
    _check_finite(x.reshape(-1, 1), sr, path)
    ext = path.suffix.lower()
    subtype = subtype or ("FLOAT" if ext == ".wav" else "PCM_16" if ext == ".flac" else None)
    peak = float(np.abs(x).max())
    if subtype and subtype.startswith("PCM") and peak > 1.0:
        raise AudioError(
            f"{path}: peak {peak:.3f} exceeds 1.0 and {subtype} would clip it; "
            "scale the signal down or save as WAV with subtype='FLOAT'"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, x.T if x.ndim == 2 else x, int(sr), subtype=subtype)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    return path


def _check_finite(data: np.ndarray, sr: int, path: Path) -> None:
    bad = ~np.isfinite(data)
    if bad.any():
        first = int(np.argwhere(bad)[0][0])
        raise AudioError(
            f"{path}: contains {int(bad.sum())} NaN or infinite samples (first at "
            f"{first / sr:.3f} s); fix or drop the file"
        )


def _to_channels(wav: torch.Tensor, mono: Mono, path: Path) -> torch.Tensor:
    if mono == "strict":
        if wav.shape[0] != 1:
            raise AudioError(
                f"{path}: has {wav.shape[0]} channels where mono is required; "
                "downmix it first (load with mono=True) or pick one channel"
            )
        return wav[0]
    if mono:
        return wav.mean(dim=0)
    return wav


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:120]
