"""``cnn_transformer``: a conv front end and a shallow transformer over time, per frequency band.

The front end (centred convs, stride 2 over frequency) turns the spectrogram into a grid of
band tokens; two transformer layers then let each band attend across the whole utterance
(weights shared by all bands, plus a learned band embedding so a layer knows which band it is
in). Frequency is never pooled away: the decoder mirrors the front end with skip connections
back to every STFT bin. Offline: attention sees the future.
"""

import torch
from torch import nn

from auralab.enhance.models.base import MODELS, MaskingEnhancer
from auralab.enhance.models.blocks import (
    FreqDecoder,
    FreqEncoder,
    TransformerLayer,
    along_time,
    compressed_features,
)


@MODELS.register("cnn_transformer")
class CnnTransformerEnhancer(MaskingEnhancer):
    """Offline conv + transformer enhancer.

    Args:
        channels: front-end channels per level, each level halving frequency; the last is the
            transformer width (257 -> 129 -> 65 -> 33 band tokens at n_fft=512).
        n_layers: transformer layers.
        heads: attention heads.
        ff_mult: feed-forward width as a multiple of the transformer width.
        (the rest as in ``MaskingEnhancer``)
    """

    causal = False

    def __init__(
        self,
        channels=(16, 32, 64),
        n_layers=2,
        heads=4,
        ff_mult=4,
        n_fft=512,
        hop=256,
        win_length=None,
        window="sqrt_hann",
        mask="crm",
        sr=16000,
    ):
        super().__init__(n_fft, hop, win_length, window, mask, sr)
        dim = channels[-1]
        self.encoder = FreqEncoder(3, channels, kernel_t=3, causal=False)
        n_bands = self.encoder.out_freqs(self.stft.n_freqs)
        self.band_embedding = nn.Parameter(torch.zeros(1, dim, n_bands, 1))
        # No time position encoding: the front end gives each token its local context, and
        # attention then works the same at any offset in a file (chunked inference agrees).
        self.transformer = nn.Sequential(
            *[TransformerLayer(dim, heads, ff_mult) for _ in range(n_layers)]
        )
        self.decoder = FreqDecoder(channels, c_out=2)

    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        x = compressed_features(spec)  # (B, 3, F, N)
        skips = self.encoder(x)  # finest first; deepest (B, D, K, N)
        y = along_time(self.transformer, skips[-1] + self.band_embedding)  # across frames
        return self.decoder(y, skips, x.shape[-2])  # (B, 2, F, N)
