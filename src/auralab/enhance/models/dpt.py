"""``dpt``: a dual-path transformer, alternating attention across frequency and across time.

A conv front end (stride 2 over frequency) makes a grid of band tokens with a learned band
embedding. Each dual-path block lets the bands of one frame attend to each other, then lets
each band attend across frames. With ``causal_time`` the time attention is masked to the past
and the front end looks only backwards, so the whole model is causal; frequency attention stays
within a frame and never breaks that.
"""

import torch
from torch import nn

from auralab.enhance.models.base import MODELS, MaskingEnhancer
from auralab.enhance.models.blocks import (
    FreqDecoder,
    FreqEncoder,
    TransformerLayer,
    along_freq,
    along_time,
    compressed_features,
)


@MODELS.register("dpt")
class DualPathTransformerEnhancer(MaskingEnhancer):
    """Dual-path transformer enhancer, offline by default, causal with ``causal_time=True``.

    Args:
        channels: front-end channels per level, each level halving frequency; the last is the
            transformer width (257 -> 129 -> 65 -> 33 band tokens at n_fft=512).
        n_blocks: dual-path blocks (one frequency and one time layer each).
        heads: attention heads.
        ff_mult: feed-forward width as a multiple of the transformer width.
        causal_time: mask time attention to past frames and use causal front-end convs.
        (the rest as in ``MaskingEnhancer``)
    """

    def __init__(
        self,
        channels=(16, 32, 64),
        n_blocks=2,
        heads=4,
        ff_mult=2,
        causal_time=False,
        n_fft=512,
        hop=256,
        win_length=None,
        window="sqrt_hann",
        mask="crm",
        sr=16000,
    ):
        super().__init__(n_fft, hop, win_length, window, mask, sr)
        self.causal = causal_time  # per instance: the same class is causal or not
        dim = channels[-1]
        kernel_t = 2 if causal_time else 3  # causal: current + one past frame; else centred
        self.encoder = FreqEncoder(3, channels, kernel_t, causal=causal_time)
        n_bands = self.encoder.out_freqs(self.stft.n_freqs)
        # Frequency attention is blind to order without it: the band embedding says which is which.
        self.band_embedding = nn.Parameter(torch.zeros(1, dim, n_bands, 1))
        self.freq_layers = nn.ModuleList(
            TransformerLayer(dim, heads, ff_mult) for _ in range(n_blocks)
        )
        self.time_layers = nn.ModuleList(
            TransformerLayer(dim, heads, ff_mult, causal=causal_time) for _ in range(n_blocks)
        )
        self.decoder = FreqDecoder(channels, c_out=2)

    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        x = compressed_features(spec)  # (B, 3, F, N)
        skips = self.encoder(x)  # finest first; deepest (B, D, K, N)
        y = skips[-1] + self.band_embedding
        for freq_layer, time_layer in zip(self.freq_layers, self.time_layers, strict=True):
            y = along_freq(freq_layer, y)  # bands of one frame attend to each other
            y = along_time(time_layer, y)  # each band attends across frames
        return self.decoder(y, skips, x.shape[-2])  # (B, 2, F, N)
