"""Building blocks shared by the enhancement models."""

import torch
from torch import nn


def complex_ratio_mask(raw: torch.Tensor) -> torch.Tensor:
    """Bounded complex ratio mask (DCCRN-E style): magnitude ``tanh(|m|)`` < 1, phase kept.

    Args:
        raw: ``(B, 2, F, N)`` real and imaginary logits.

    Returns:
        ``(B, F, N)`` complex mask with ``|mask| < 1``; bounded so a model cannot amplify
        noise without limit, yet still able to rotate the phase.
    """
    m = torch.complex(raw[:, 0], raw[:, 1])
    mag = m.abs()
    return m * (torch.tanh(mag) / (mag + 1e-8))


def magnitude_mask(raw: torch.Tensor) -> torch.Tensor:
    """Real mask in [0, 1] from the first channel of ``(B, 2, F, N)``; the noisy phase is kept."""
    return torch.sigmoid(raw[:, 0])


def compressed_features(spec: torch.Tensor, power: float = 0.3) -> torch.Tensor:
    """``(B, F, N)`` complex -> ``(B, 3, F, N)``: compressed magnitude and compressed real/imag.

    Power-law compression (``|X|^0.3``) evens out the dynamic range between loud low bins and
    quiet high bins, which small models otherwise ignore.
    """
    mag = spec.abs().clamp_min(1e-8)
    scaled = spec * (mag.pow(power) / mag)
    return torch.stack([mag.pow(power), scaled.real, scaled.imag], dim=1)


def erb_bands(n_freqs: int, n_keep: int, n_bands: int, sr: int) -> torch.Tensor:
    """A ``(n_keep + n_bands, n_freqs)`` matrix: low bins kept, high bins merged into ERB bands.

    Each row sums to 1 (band = mean of its bins), so merged values stay on the input's scale.
    """
    freqs = torch.linspace(0, sr / 2, n_freqs, dtype=torch.float64)
    erb = 21.4 * torch.log10(1 + 0.00437 * freqs)  # ERB-number scale (Glasberg & Moore)
    edges = torch.linspace(float(erb[n_keep]), float(erb[-1]), n_bands + 1)
    rows = [torch.nn.functional.one_hot(torch.tensor(k), n_freqs).double() for k in range(n_keep)]
    centres = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    high = erb[n_keep:]
    for c in centres:  # triangular bands that overlap their neighbours by half
        w = (1 - (high - c).abs() / width).clamp_min(0)
        if w.sum() == 0:
            w[(high - c).abs().argmin()] = 1.0
        rows.append(torch.cat([torch.zeros(n_keep, dtype=torch.float64), w]))
    m = torch.stack(rows)
    return (m / m.sum(dim=1, keepdim=True)).float()


class BandMerge(nn.Module):
    """Fixed linear frequency compression ``(..., F, N) -> (..., K, N)`` and its expansion."""

    def __init__(self, n_freqs: int, n_keep: int, n_bands: int, sr: int):
        super().__init__()
        merge = erb_bands(n_freqs, n_keep, n_bands, sr)  # (K, F)
        # Expansion spreads each band back over its bins, weighted by overlap.
        expand = merge.T / merge.T.sum(dim=1, keepdim=True).clamp_min(1e-8)  # (F, K)
        self.register_buffer("merge", merge, persistent=False)
        self.register_buffer("expand", expand, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("kf,...fn->...kn", self.merge, x)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("fk,...kn->...fn", self.expand, x)


class CausalConv2d(nn.Module):
    """Conv over ``(B, C, F, N)`` that pads time on the left only: frame n sees frames <= n."""

    def __init__(self, c_in, c_out, kernel=(3, 3), stride_f=1, dilation_t=1, groups=1):
        super().__init__()
        kf, kt = kernel
        self.pad_t = (kt - 1) * dilation_t
        self.conv = nn.Conv2d(
            c_in,
            c_out,
            (kf, kt),
            stride=(stride_f, 1),
            padding=(kf // 2, 0),
            dilation=(1, dilation_t),
            groups=groups,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.pad(x, (self.pad_t, 0)))


class SeparableBlock(nn.Module):
    """Depthwise causal conv + pointwise conv + norm + PReLU, with a residual connection."""

    def __init__(self, channels: int, kernel=(3, 3), dilation_t: int = 1):
        super().__init__()
        self.depthwise = CausalConv2d(
            channels, channels, kernel, dilation_t=dilation_t, groups=channels
        )
        self.pointwise = nn.Conv2d(channels, channels, 1)
        self.norm = nn.BatchNorm2d(channels)
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.norm(self.pointwise(self.depthwise(x))))


class DualPathGRU(nn.Module):
    """Bidirectional GRU across frequency (within a frame), then a causal GRU across time.

    Input and output ``(B, C, K, N)``. The time GRU is shared by all K bands (one small RNN
    run K times), which is what keeps the parameter count tiny.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.intra = nn.GRU(channels, hidden // 2, batch_first=True, bidirectional=True)
        self.intra_out = nn.Linear(hidden, channels)
        self.intra_norm = nn.LayerNorm(channels)
        self.inter = nn.GRU(channels, hidden, batch_first=True)
        self.inter_out = nn.Linear(hidden, channels)
        self.inter_norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, k, n = x.shape
        y = x.permute(0, 3, 2, 1).reshape(b * n, k, c)  # sequences over frequency
        y = y + self.intra_norm(self.intra_out(self.intra(y)[0]))
        y = y.reshape(b, n, k, c).transpose(1, 2).reshape(b * k, n, c)  # sequences over time
        y = y + self.inter_norm(self.inter_out(self.inter(y)[0]))
        return y.reshape(b, k, n, c).permute(0, 3, 1, 2)


def count_macs_per_second(model: nn.Module, sr: int, seconds: float = 1.0) -> float:
    """Multiply-accumulates per second of audio, counted by torch's FLOP counter (FLOPs / 2).

    GRU/LSTM cells are counted through their matmuls; elementwise ops are not counted.
    """
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, int(sr * seconds))
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops() / 2 / seconds
