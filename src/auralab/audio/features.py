"""Log-mel features: good for classification, and NOT invertible.

A mel filterbank averages neighbouring bins and the log-magnitude drops the phase, so no exact
waveform can be rebuilt from it; Griffin-Lim only guesses one. Frontends carry an
``invertible`` flag, and ``require_invertible`` is called by anything that must output audio,
so a "denoiser" trained on log-mel cannot pretend to return a waveform.
"""

from dataclasses import dataclass, field

import torch

from auralab.audio.stft import Stft
from auralab.errors import ConfigError, NonInvertibleFeatureError


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sr: int, f_min: float, f_max: float) -> torch.Tensor:
    """Triangular HTK-mel filters ``(n_mels, n_fft // 2 + 1)``, each of unit area (Slaney)."""
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = mel_to_hz(
        torch.linspace(
            float(hz_to_mel(torch.tensor(f_min))), float(hz_to_mel(torch.tensor(f_max))), n_mels + 2
        )
    ).double()
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lo) / (mid - lo)
    down = (hi - freqs) / (hi - mid)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    fb = fb * (2.0 / (hi - lo))  # equal area so loud bands are not favoured by width
    return fb.float()


@dataclass(frozen=True)
class LogMel:
    """Log-mel spectrogram frontend.

    Attributes:
        sr: sample rate in Hz the filters are built for.
        n_fft, hop: STFT size and hop in samples.
        n_mels: number of mel bands.
        f_min, f_max: band edges in Hz (``f_max`` default ``sr / 2``).
    """

    sr: int = 16000
    n_fft: int = 1024
    hop: int = 320
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float | None = None
    invertible: bool = field(default=False, init=False)

    def __post_init__(self):
        f_max = self.f_max or self.sr / 2
        if not 0 <= self.f_min < f_max <= self.sr / 2:
            raise ConfigError(
                f"logmel: need 0 <= f_min ({self.f_min}) < f_max ({f_max}) <= sr/2 ({self.sr / 2})"
            )

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """``(..., T)`` waveform at ``sr`` Hz -> ``(..., n_mels, frames)`` log-mel (natural log)."""
        stft = Stft(n_fft=self.n_fft, hop=self.hop)
        power = stft.forward(wav).abs().square()  # (..., F, frames)
        fb = mel_filterbank(self.n_mels, self.n_fft, self.sr, self.f_min, self.f_max or self.sr / 2)
        mel = torch.einsum("mf,...ft->...mt", fb.to(power), power)
        return torch.log(mel + 1e-10)

    def inverse(self, feats: torch.Tensor, length: int) -> torch.Tensor:
        raise NonInvertibleFeatureError(
            "log-mel features cannot be turned back into a waveform (phase and fine frequency "
            "detail are gone; Griffin-Lim only guesses); train waveform-output models on "
            "auralab.audio.Stft instead"
        )


def require_invertible(frontend, what: str = "this model") -> None:
    """Refuse waveform output from a frontend that cannot be inverted exactly."""
    if not getattr(frontend, "invertible", False):
        raise NonInvertibleFeatureError(
            f"{what} uses {type(frontend).__name__} features, which cannot be inverted to a "
            "waveform; use an Stft frontend for models that output audio"
        )
