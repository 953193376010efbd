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
    fixed_sizes,
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

    def init_state(self, batch: int) -> list[torch.Tensor]:
        with torch.no_grad():  # the encoder's band count, found by running one silent frame
            silent = self.bands.merge.new_zeros(batch, 3, self.bands.merge.shape[0], 1)
            probe = self.enc_down(self.enc_in(silent))
        _, c, k, _ = probe.shape
        blocks = [*self.enc_blocks, *self.dec_blocks]
        caches = [probe.new_zeros(batch, c, k, blk.depthwise.pad_t) for blk in blocks]
        hidden = [probe.new_zeros(1, batch * k, dp.inter.hidden_size) for dp in self.dual_path]
        return caches + hidden

    def masker_step(self, spec, state):
        n_enc, n_dec = len(self.enc_blocks), len(self.dec_blocks)
        caches, hidden = list(state[: n_enc + n_dec]), list(state[n_enc + n_dec :])
        x = self.bands(compressed_features(spec))  # (B, 3, K, 1)
        e1 = self.enc_in(x)
        e2 = self.enc_down(e1)
        y = e2
        for i, block in enumerate(self.enc_blocks):
            y, caches[i] = block.step(y, caches[i])
        for i, dp in enumerate(self.dual_path):
            y, hidden[i] = dp.step(y, hidden[i])
        for i, block in enumerate(self.dec_blocks):
            y, caches[n_enc + i] = block.step(y, caches[n_enc + i])
        # Band counts are fixed: constant slices, no shape arithmetic in an exported graph.
        k1, k0 = fixed_sizes(e1, 3)[2], fixed_sizes(x, 3)[2]
        y = self.dec_up(y + e2)[..., :k1, :] + e1
        raw = self.dec_out(y)[..., :k0, :]
        return self.bands.inverse(raw), caches + hidden

    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.bands(compressed_features(spec))  # (B, 3, K, N), K = n_keep + n_bands
        e1 = self.enc_in(x)  # (B, C, K/2, N)
        e2 = self.enc_down(e1)  # (B, C, K/4, N)
        y = self.dual_path(self.enc_blocks(e2))
        y = self.dec_blocks(y) + e2
        y = self.dec_up(y)[..., : e1.shape[-2], :] + e1
        raw = self.dec_out(y)[..., : x.shape[-2], :]  # (B, 2, K, N)
        return self.bands.inverse(raw)  # (B, 2, F, N)
