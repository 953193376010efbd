"""``tiny``: a causal enhancement model under 50 K parameters and 60 M MACs per second.

GTCRN/FastEnhancer class, written for this library: low bins kept and high bins merged into ERB
bands, a causal conv encoder with depthwise-separable blocks, dual-path GRUs (bidirectional over
frequency, causal over time), a mirrored decoder with skip connections, and a bounded complex
ratio mask. Default STFT: 14 ms window (224 samples at 16 kHz), 7 ms hop, so the algorithmic
latency stays under 15 ms for streaming.
"""

import torch
from torch import nn

from auralab.enhance.models.base import MODELS, MaskingEnhancer
from auralab.enhance.models.blocks import (
    BandMerge,
    CausalConv2d,
    DualPathGRU,
    SeparableBlock,
    compressed_features,
)


@MODELS.register("tiny")
class TinyEnhancer(MaskingEnhancer):
    """Causal tiny enhancer.

    Args:
        channels: conv channels.
        hidden: GRU width.
        n_keep: low STFT bins kept at full resolution.
        n_bands: ERB bands the remaining bins are merged into.
        n_dual_path: number of dual-path GRU blocks.
        (the rest as in ``MaskingEnhancer``)
    """

    causal = True

    def __init__(
        self,
        channels=20,
        hidden=24,
        n_keep=32,
        n_bands=32,
        n_dual_path=2,
        n_fft=224,
        hop=112,
        win_length=None,
        window="sqrt_hann",
        mask="crm",
        sr=16000,
    ):
        super().__init__(n_fft, hop, win_length, window, mask, sr)
        self.bands = BandMerge(self.stft.n_freqs, n_keep, n_bands, sr)
        c = channels
        self.enc_in = nn.Sequential(
            CausalConv2d(3, c, (5, 1), stride_f=2), nn.BatchNorm2d(c), nn.PReLU(c)
        )
        self.enc_down = nn.Sequential(
            CausalConv2d(c, c, (3, 1), stride_f=2, groups=c),
            nn.Conv2d(c, c, 1),
            nn.BatchNorm2d(c),
            nn.PReLU(c),
        )
        self.enc_blocks = nn.Sequential(SeparableBlock(c, (3, 3), 1), SeparableBlock(c, (3, 3), 2))
        self.dual_path = nn.Sequential(*[DualPathGRU(c, hidden) for _ in range(n_dual_path)])
        self.dec_blocks = nn.Sequential(SeparableBlock(c, (3, 3), 2), SeparableBlock(c, (3, 3), 1))
        self.dec_up = nn.Sequential(
            nn.ConvTranspose2d(c, c, (4, 1), stride=(2, 1), padding=(1, 0)),
            nn.BatchNorm2d(c),
            nn.PReLU(c),
        )
        self.dec_out = nn.ConvTranspose2d(c, 2, (4, 1), stride=(2, 1), padding=(1, 0))

    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.bands(compressed_features(spec))  # (B, 3, K, N), K = n_keep + n_bands
        e1 = self.enc_in(x)  # (B, C, K/2, N)
        e2 = self.enc_down(e1)  # (B, C, K/4, N)
        y = self.dual_path(self.enc_blocks(e2))
        y = self.dec_blocks(y) + e2
        y = self.dec_up(y)[..., : e1.shape[-2], :] + e1
        raw = self.dec_out(y)[..., : x.shape[-2], :]  # (B, 2, K, N)
        return self.bands.inverse(raw)  # (B, 2, F, N)
