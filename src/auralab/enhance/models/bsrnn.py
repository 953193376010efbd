"""``bsrnn``: a band-split RNN (the Luo & Yu 2023 idea, written small).

The spectrum is cut into bands, narrow where speech detail lives and wide above it. Each band
gets its own norm and linear map to a common feature size, giving a (band x frame) grid that
is modelled by alternating an LSTM over time within each band (causal by default) and an LSTM
across the bands of each frame. A small MLP per band then maps its features back to a complex
mask for exactly that band's bins.
"""

import torch
from torch import nn

from auralab.enhance.models.base import MODELS, MaskingEnhancer
from auralab.enhance.models.blocks import (
    ResidualLSTM,
    along_freq,
    along_time,
    compressed_features,
)
from auralab.errors import ConfigError

# Band widths in bins for n_fft=512 (31.25 Hz per bin at 16 kHz), 24 bands over 257 bins:
# 125 Hz bands to 1 kHz, 250 Hz to 3 kHz, 500 Hz to 6 kHz, then 1 kHz (the last takes Nyquist).
DEFAULT_BAND_WIDTHS = (4,) * 8 + (8,) * 8 + (16,) * 6 + (32, 33)


def band_mlp(dim: int, n_out: int) -> nn.Sequential:
    """Per-band mask estimator: ``(..., dim) -> (..., n_out)``."""
    return nn.Sequential(
        nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.Tanh(), nn.Linear(2 * dim, n_out)
    )


@MODELS.register("bsrnn")
class BandSplitRnnEnhancer(MaskingEnhancer):
    """Band-split RNN enhancer.

    Args:
        band_widths: bins per band, summing to ``n_fft // 2 + 1``; ``None`` uses
            ``DEFAULT_BAND_WIDTHS`` (made for n_fft=512).
        dim: feature size of every band.
        hidden: LSTM width (split between directions when bidirectional).
        n_blocks: time + band modelling blocks.
        causal: unidirectional LSTM over time; ``False`` makes it bidirectional (offline).
        (the rest as in ``MaskingEnhancer``)
    """

    def __init__(
        self,
        band_widths=None,
        dim=48,
        hidden=64,
        n_blocks=3,
        causal=True,
        n_fft=512,
        hop=256,
        win_length=None,
        window="sqrt_hann",
        mask="crm",
        sr=16000,
    ):
        super().__init__(n_fft, hop, win_length, window, mask, sr)
        self.widths = [int(w) for w in (band_widths or DEFAULT_BAND_WIDTHS)]
        if sum(self.widths) != self.stft.n_freqs or min(self.widths) < 1:
            raise ConfigError(
                f"model.band_widths sum to {sum(self.widths)} bins, but n_fft={n_fft} gives "
                f"{self.stft.n_freqs}; pass positive widths that add up to {self.stft.n_freqs}"
            )
        self.causal = causal  # per instance: the same class is causal or not
        # Each band's 3 features per bin (compressed magnitude, real, imag) -> dim.
        self.split = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(3 * w), nn.Linear(3 * w, dim)) for w in self.widths
        )
        self.time_rnns = nn.ModuleList(
            ResidualLSTM(dim, hidden, bidirectional=not causal) for _ in range(n_blocks)
        )
        # Across bands within one frame: bidirectional costs no latency.
        self.band_rnns = nn.ModuleList(
            ResidualLSTM(dim, hidden, bidirectional=True) for _ in range(n_blocks)
        )
        self.heads = nn.ModuleList(band_mlp(dim, 2 * w) for w in self.widths)

    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        z = self._band_split(spec)  # (B, D, K, N)
        for time_rnn, band_rnn in zip(self.time_rnns, self.band_rnns, strict=True):
            z = along_time(time_rnn, z)  # each band over time
            z = along_freq(band_rnn, z)  # the bands of each frame
        return self._band_masks(z)

    def init_state(self, batch: int) -> list[torch.Tensor]:
        if not self.causal:
            return super().init_state(batch)  # refuses: a bidirectional time LSTM cannot stream
        like = next(self.parameters())
        size = (1, batch * len(self.widths), self.time_rnns[0].rnn.hidden_size)
        return [like.new_zeros(size) for _ in range(2 * len(self.time_rnns))]  # (h, c) per block

    def masker_step(self, spec, state):
        state = list(state)
        z = self._band_split(spec)  # (B, D, K, 1)
        for i, (time_rnn, band_rnn) in enumerate(zip(self.time_rnns, self.band_rnns, strict=True)):
            z, state[2 * i], state[2 * i + 1] = time_rnn.step_along_time(
                z, *state[2 * i : 2 * i + 2]
            )
            z = along_freq(band_rnn, z)
        return self._band_masks(z), state

    def _band_split(self, spec: torch.Tensor) -> torch.Tensor:
        bands = compressed_features(spec).split(self.widths, dim=2)  # K x (B, 3, w, N)
        tokens = [proj(band.flatten(1, 2).mT) for proj, band in zip(self.split, bands, strict=True)]
        return torch.stack(tokens, dim=1).permute(0, 3, 1, 2)  # (B, D, K, N)

    def _band_masks(self, z: torch.Tensor) -> torch.Tensor:
        z = z.permute(0, 2, 3, 1)  # (B, K, N, D)
        masks = [
            head(z[:, k]).unflatten(-1, (2, w)).permute(0, 2, 3, 1)  # (B, 2, w, N)
            for k, (head, w) in enumerate(zip(self.heads, self.widths, strict=True))
        ]
        return torch.cat(masks, dim=2)  # (B, 2, F, N)
