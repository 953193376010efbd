"""The one STFT used by every model and metric that needs a spectrogram.

``Stft`` is a frozen config with ``forward`` (waveform -> complex spectrogram) and ``inverse``
(complex spectrogram -> waveform). Construction refuses window/hop pairs that violate the
non-zero overlap-add (NOLA) condition, because their inverse cannot be exact; the error arrives
at configuration time instead of as a cryptic failure inside ``torch.istft`` mid-training.
"""

from dataclasses import dataclass, field

import torch

from auralab.errors import ConfigError

WINDOWS = ("hann", "sqrt_hann", "hamming", "rect")


def make_window(name: str, length: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A periodic analysis window of ``length`` samples."""
    if name == "hann":
        return torch.hann_window(length, periodic=True, dtype=dtype)
    if name == "sqrt_hann":
        return torch.hann_window(length, periodic=True, dtype=dtype).sqrt()
    if name == "hamming":
        return torch.hamming_window(length, periodic=True, dtype=dtype)
    if name == "rect":
        return torch.ones(length, dtype=dtype)
    raise ConfigError(f"stft.window={name!r} is unknown; use one of {', '.join(WINDOWS)}")


@dataclass(frozen=True)
class Stft:
    """Short-time Fourier transform with an exact inverse.

    Attributes:
        n_fft: FFT size in samples; the spectrogram has ``n_fft // 2 + 1`` bins.
        hop: frame advance in samples.
        window: ``"hann"``, ``"sqrt_hann"``, ``"hamming"`` or ``"rect"`` (periodic).
        win_length: window length in samples (``<= n_fft``, zero-padded); default ``n_fft``.
        center: pad ``n_fft // 2`` on both sides so frame ``t`` is centred at ``t * hop``.
    """

    n_fft: int = 512
    hop: int = 256
    window: str = "hann"
    win_length: int | None = None
    center: bool = True
    invertible: bool = field(default=True, init=False)

    def __post_init__(self):
        win = self.win_length or self.n_fft
        if self.n_fft < 2 or self.hop < 1:
            raise ConfigError(f"stft: n_fft={self.n_fft} and hop={self.hop} must be >= 2 and >= 1")
        if not 1 <= win <= self.n_fft:
            raise ConfigError(f"stft.win_length={win} must be between 1 and n_fft={self.n_fft}")
        if self.hop > win:
            raise ConfigError(
                f"stft: hop={self.hop} is longer than the window ({win}); samples between "
                "frames would be lost. Use hop <= win_length"
            )
        self._check_nola(self._window(torch.zeros(0, dtype=torch.float64)))

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """``(..., T)`` real waveform -> ``(..., F, frames)`` complex spectrogram."""
        lead, length = wav.shape[:-1], wav.shape[-1]
        # Zero-pad the tail so the last frame's window still weighs the last sample.
        flat = torch.nn.functional.pad(wav.reshape(-1, length), (0, self._tail_pad(length)))
        spec = torch.stft(
            flat,
            n_fft=self.n_fft,
            hop_length=self.hop,
            win_length=self.win_length or self.n_fft,
            window=self._window(wav),
            center=self.center,
            pad_mode="constant",  # zeros, not reflection: defined for any length, causal-friendly
            return_complex=True,
        )  # (B, F, frames) complex
        return spec.reshape(*lead, *spec.shape[-2:])

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``(..., F, frames)`` complex spectrogram -> ``(..., length)`` real waveform."""
        if spec.shape[-2] != self.n_freqs:
            raise ConfigError(
                f"stft.inverse: spectrogram has {spec.shape[-2]} bins, this Stft makes "
                f"{self.n_freqs} (n_fft={self.n_fft}); use the Stft that produced it"
            )
        lead = spec.shape[:-2]
        wav = torch.istft(
            spec.reshape(-1, *spec.shape[-2:]),
            n_fft=self.n_fft,
            hop_length=self.hop,
            win_length=self.win_length or self.n_fft,
            window=self._window(spec.real),
            center=self.center,
            length=length,
        )
        return wav.reshape(*lead, wav.shape[-1])

    def frames(self, length: int) -> int:
        """Number of frames ``forward`` makes from ``length`` samples."""
        padded = length + self._tail_pad(length)
        if self.center:
            return padded // self.hop + 1
        return (padded - self.n_fft) // self.hop + 1

    def _tail_pad(self, length: int) -> int:
        # Smallest right pad after which some frame gives the last sample non-zero weight.
        win = self.win_length or self.n_fft
        offset = (self.n_fft - win) // 2  # torch centres a short window inside n_fft
        last_nonzero = offset + win - 1
        c = self.n_fft // 2 if self.center else 0
        last_frame = max(0, -(-(length - 1 + c - last_nonzero) // self.hop))
        needed = last_frame * self.hop + self.n_fft - 2 * c
        return max(0, needed - length)

    def _window(self, like: torch.Tensor) -> torch.Tensor:
        return make_window(self.window, self.win_length or self.n_fft, like.dtype).to(like.device)

    def _check_nola(self, w: torch.Tensor) -> None:
        # Sum of squared windows over one hop period: zero anywhere means lost samples.
        win = w.numel()
        offset = (self.n_fft - win) // 2
        sq = torch.nn.functional.pad(w.square(), (offset, self.n_fft - win - offset))
        env = torch.zeros(self.hop, dtype=w.dtype)
        for start in range(0, self.n_fft, self.hop):
            chunk = sq[start : start + self.hop]
            env[: chunk.numel()] += chunk
        if float(env.min()) < 1e-10:
            raise ConfigError(
                f"stft: window={self.window!r} with win_length={win} and hop={self.hop} violates "
                "NOLA (some samples get zero total window weight), so the inverse cannot be exact; "
                f"use hop <= {win // 2}"
            )
        if not self.center and float(sq[0]) < 1e-10:
            raise ConfigError(
                f"stft: center=False with window={self.window!r} gives the first sample zero "
                "weight, so the inverse cannot recover it; use center=True or window='hamming'"
            )
