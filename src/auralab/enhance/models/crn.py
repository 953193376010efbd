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
    FreqDown,
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

    def init_state(self, batch: int) -> list[torch.Tensor]:
        # One cache per encoder level (its last kernel_t - 1 input frames), then LSTM (h, c).
        caches, n_freqs = [], self.stft.n_freqs
        like = next(self.parameters())  # the model's device and dtype
        for layer in self.encoder.layers:
            conv = layer[0].conv  # CausalConv2d -> its nn.Conv2d
            caches.append(like.new_zeros(batch, conv.in_channels, n_freqs, layer[0].pad_t))
            n_freqs = (n_freqs + 1) // 2
        size = (1, batch * n_freqs, self.lstm.rnn.hidden_size)  # one sequence per position
        return caches + [like.new_zeros(size), like.new_zeros(size)]

    def masker_step(self, spec, state):
        n = len(self.encoder.layers)
        caches, (h, c) = list(state[:n]), state[n:]
        x = compressed_features(spec)  # (B, 3, F, 1)
        skips, y = [], x
        for i, layer in enumerate(self.encoder.layers):
            y, caches[i] = _down_step(layer, y, caches[i])
            skips.append(y)
        y, h, c = self.lstm.step_along_time(skips[-1], h, c)
        # The decoder's time kernel is 1: one frame in, one frame out, nothing to carry.
        return self.decoder(y, skips, x.shape[-2]), caches + [h, c]


def _down_step(layer: FreqDown, x: torch.Tensor, cache: torch.Tensor):
    """One frame ``(B, C_in, F, 1)`` through a ``FreqDown`` level with its conv cache."""
    conv, norm, act = layer  # BatchNorm (eval) and PReLU act on each frame alone
    y, cache = conv.step(x, cache)
    return act(norm(y)), cache
