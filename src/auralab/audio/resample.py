"""Sample-rate conversion with soxr, only ever on explicit request."""

import numpy as np
import soxr
import torch

from auralab.errors import AudioError


def resample(wav: torch.Tensor, sr_in: int, sr_out: int, quality: str = "VHQ") -> torch.Tensor:
    """Resample a waveform with soxr.

    Args:
        wav: ``(T,)`` or ``(C, T)`` float waveform at ``sr_in`` Hz.
        sr_in: input sample rate in Hz.
        sr_out: output sample rate in Hz.
        quality: soxr quality recipe (``"VHQ"``, ``"HQ"``, ``"MQ"``, ``"LQ"``, ``"QQ"``).

    Returns:
        The waveform at ``sr_out`` Hz, same dtype and channel layout, ``round(T * sr_out / sr_in)``
        samples long.
    """
    for name, value in (("sr_in", sr_in), ("sr_out", sr_out)):
        if int(value) != value or value <= 0:
            raise AudioError(f"resample: {name}={value} is not a positive integer sample rate")
    if sr_in == sr_out:
        return wav
    x = wav.detach().cpu().numpy().astype(np.float64)
    # soxr wants (T, C); keep mono as 1-D so shapes round-trip.
    y = soxr.resample(x.T, int(sr_in), int(sr_out), quality=quality).T
    return torch.from_numpy(np.ascontiguousarray(y)).to(wav.dtype)
