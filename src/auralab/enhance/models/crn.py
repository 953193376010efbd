"""``crn``: a causal convolutional recurrent network (the Tan & Wang 2018 idea, written small).

A conv encoder halves frequency at every level and looks only at past frames; at the deepest
level one LSTM runs over time for each frequency position (its weights shared by all positions,
so frequency detail survives the bottleneck); a transposed-conv decoder mirrors the encoder
with concatenated skip connections and ends in the two mask channels.
"""

import torch

from auralab.enhance.models.base import MODELS, MaskingEnhancer
from auralab.enhance.models.blocks import (
    FreqDecoder,
    FreqEncoder,
    ResidualLSTM,
    along_time,
    compressed_features,
)


@MODELS.register("crn")
class ConvRecurrentEnhancer(MaskingEnhancer):
    """Causal CRN: conv encoder, per-frequency LSTM over time, transposed-conv decoder.

    Args:
        channels: encoder channels per level; each level halves frequency
            (257 -> 129 -> 65 -> 33 -> 17 bins at n_fft=512).
        hidden: LSTM width.
        kernel_t: encoder time kernel in frames (the current one and ``kernel_t - 1`` past).
        (the rest as in ``MaskingEnhancer``)
    """

    causal = True

    def __init__(
        self,
        channels=(16, 32, 64, 64),
        hidden=128,
        kernel_t=2,
        n_fft=512,
        hop=256,
        win_length=None,
        window="sqrt_hann",
        mask="crm",
        sr=16000,
    ):
        super().__init__(n_fft, hop, win_length, window, mask, sr)
        self.encoder = FreqEncoder(3, channels, kernel_t, causal=True)
        self.lstm = ResidualLSTM(channels[-1], hidden)  # unidirectional: never sees the future
        self.decoder = FreqDecoder(channels, c_out=2)

    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        x = compressed_features(spec)  # (B, 3, F, N)
        skips = self.encoder(x)  # finest first; deepest (B, C, K, N)
        y = along_time(self.lstm, skips[-1])  # one LSTM over time per frequency position
        return self.decoder(y, skips, x.shape[-2])  # (B, 2, F, N)
