"""Building blocks shared by the enhancement models."""

import torch
from torch import nn

from auralab.errors import ConfigError


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

    # Plain matrix products (not einsum): one MatMul each in an exported graph.
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.merge, x)  # (K, F) @ (..., F, N)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.expand, x)  # (F, K) @ (..., K, N)


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
        # A kernel one frame long needs no padding (and an exported graph no Pad node).
        return self.conv(nn.functional.pad(x, (self.pad_t, 0)) if self.pad_t else x)

    def step(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``N >= 1`` frames ``x (B, C, F, N)`` and the last ``pad_t`` input frames before them
        ``(B, C, F, pad_t)``.

        Returns the ``N`` output frames and the updated cache; run block by block over a
        sequence it equals ``forward`` on the whole sequence.
        """
        full = torch.cat([cache, x], dim=-1)  # (B, C, F, pad_t + N)
        # A constant negative start keeps the exported graph free of shape arithmetic.
        return self.conv(full), full[..., -self.pad_t :] if self.pad_t else full[..., :0]


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

    def step(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``(B, C, F, N)`` with the depthwise conv's cache (``CausalConv2d.step``)."""
        y, cache = self.depthwise.step(x, cache)
        return x + self.act(self.norm(self.pointwise(y))), cache


class DualPathGRU(nn.Module):
    """Bidirectional GRU across frequency (within a frame), then a causal GRU across time.

    Input and output ``(B, C, K, N)``. The time GRU is shared by all K bands (one small RNN
    run K times), which is what keeps the parameter count tiny.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.intra = nn.GRU(channels, hidden // 2, bidirectional=True)  # (seq, batch, C)
        self.intra_out = nn.Linear(hidden, channels)
        self.intra_norm = nn.LayerNorm(channels)
        self.inter = nn.GRU(channels, hidden)
        self.inter_out = nn.Linear(hidden, channels)
        self.inter_norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        return self.step(x, h)[0]

    def step(self, x: torch.Tensor, h: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Any number of frames ``(B, C, K, N)`` from time-GRU state ``h (1, B*K, hidden)``
        (``None``: zeros); returns the output and the state after the last frame."""
        b, c, k = fixed_sizes(x, 3)
        # Sequence-first layouts, the GRUs' own: an exported graph needs no transposes around
        # them. Only the frame axis is left to -1, so it is the graph's only dynamic size.
        y = x.permute(2, 0, 3, 1).reshape(k, -1, c)  # (K, B*N, C): sequences over frequency
        y = y + self.intra_norm(self.intra_out(self.intra(y)[0]))
        y = y.reshape(k, b, -1, c).permute(2, 1, 0, 3).reshape(-1, b * k, c)  # (N, B*K, C)
        out, h = self.inter(y, h)  # sequences over time, band-major batch like init_state
        y = y + self.inter_norm(self.inter_out(out))
        return y.reshape(-1, b, k, c).permute(1, 3, 2, 0), h


def fixed_sizes(x: torch.Tensor, n: int) -> tuple[int, ...]:
    """The first ``n`` sizes of ``x`` as Python ints, for axes fixed once a model is built.

    While the ONNX exporter traces, ``x.shape`` holds graph values: a reshape built from them
    becomes Shape/Gather/Unsqueeze/Concat nodes run on every call. Batch (1 in an export),
    channels and bands never change, so they are taken as constants; the frame axis must never
    be passed through here (use ``-1`` for it).
    """
    return tuple(int(size) for size in x.shape[:n])


def count_macs_per_second(model: nn.Module, sr: int, seconds: float = 1.0) -> float:
    """Multiply-accumulates per second of audio, counted by torch's FLOP counter (FLOPs / 2).

    GRU/LSTM cells are counted through their matmuls; elementwise ops are not counted. oneDNN
    is switched off while counting: its fused LSTM kernel is invisible to the counter.
    """
    import warnings

    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, int(sr * seconds))
    was_training = model.training
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "mkldnn flags" notice: expected here
        with torch.backends.mkldnn.flags(enabled=False), torch.no_grad():
            with FlopCounterMode(display=False) as counter:
                model(x)
    model.train(was_training)
    return counter.get_total_flops() / 2 / seconds


# --- Blocks for the larger models (crn, cnn_transformer, dpt, bsrnn) ---------------------------


def along_time(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a sequence module over time, once per frequency position (weights shared).

    Args:
        fn: maps ``(B * K, N, C)`` sequences to the same shape.
        x: ``(B, C, K, N)`` features.

    Returns:
        ``(B, C, K, N)``.
    """
    b, c, k, n = x.shape
    y = fn(x.permute(0, 2, 3, 1).reshape(b * k, n, c))  # (B*K, N, C)
    return y.reshape(b, k, n, c).permute(0, 3, 1, 2)


def along_freq(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a sequence module over frequency, once per frame: ``(B, C, K, N)`` in and out.

    ``fn`` maps ``(B * N, K, C)`` sequences to the same shape; no frame sees another, so this
    never breaks causality.
    """
    b, c, k, n = x.shape
    y = fn(x.permute(0, 3, 2, 1).reshape(b * n, k, c))  # (B*N, K, C)
    return y.reshape(b, n, k, c).permute(0, 3, 2, 1)


class ResidualLSTM(nn.Module):
    """Pre-norm LSTM with a residual connection over ``(B', L, D)`` sequences.

    ``x + Linear(LSTM(LayerNorm(x)))``. Unidirectional keeps it causal along ``L``; the
    bidirectional version splits ``hidden`` between the two directions so both cost the same.
    """

    def __init__(self, dim: int, hidden: int, bidirectional: bool = False):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        size = hidden // 2 if bidirectional else hidden
        self.rnn = nn.LSTM(dim, size, batch_first=True, bidirectional=bidirectional)
        self.proj = nn.Linear(2 * size if bidirectional else size, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(self.rnn(self.norm(x))[0])

    def step_along_time(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """Frames ``(B, C, K, N)`` over time per position, as ``along_time(self, x)``, from LSTM
        state ``(h, c)`` each ``(1, B*K, hidden)``; returns ``(y, h, c)`` (unidirectional only)."""
        b, ch, k, n = x.shape
        seq = x.permute(0, 2, 3, 1).reshape(b * k, n, ch)
        out, (h, c) = self.rnn(self.norm(seq), (h, c))
        y = seq + self.proj(out)  # (B*K, N, C)
        return y.reshape(b, k, n, ch).permute(0, 3, 1, 2), h, c


class TransformerLayer(nn.Module):
    """Pre-norm transformer layer over ``(B', L, D)`` sequences, optionally causal along ``L``.

    Attention is written with explicit matmuls rather than ``scaled_dot_product_attention``
    because torch's FLOP counter does not see the fused CPU kernel, and
    ``count_macs_per_second`` would then under-report every attention model.
    """

    def __init__(self, dim: int, heads: int = 4, ff_mult: int = 2, causal: bool = False):
        super().__init__()
        if dim % heads:
            raise ConfigError(f"transformer width {dim} is not divisible by heads={heads}")
        self.heads = heads
        self.causal = causal
        self.attn_norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_out = nn.Linear(dim, dim)
        self.ff = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, ff_mult * dim),
            nn.GELU(),
            nn.Linear(ff_mult * dim, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape
        weights, v = self._attend(x)
        y = (weights @ v).transpose(1, 2).reshape(b, length, d)  # (B', L, D)
        x = x + self.attn_out(y)
        return x + self.ff(x)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights ``forward`` uses on ``x (B', L, D)``: ``(B', H, query L, key L)``.

        Computed by the same code as ``forward`` (each row sums to 1; with ``causal`` the
        weights on later positions are 0), so ``auralab.report.attention`` can draw them.
        """
        return self._attend(x)[0]

    def _attend(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, length, d = x.shape
        qkv = self.qkv(self.attn_norm(x)).reshape(b, length, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B', H, L, D/H)
        scores = q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5  # (B', H, L, L)
        if self.causal:  # position l may only look at positions <= l
            future = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        return scores.softmax(-1), v


class FreqDown(nn.Sequential):
    """Conv with stride 2 over frequency + BatchNorm + PReLU.

    ``(B, C_in, F, N) -> (B, C_out, (F + 1) // 2, N)``. With ``causal`` the time kernel covers
    the current and ``kernel_t - 1`` past frames; otherwise it is centred (``kernel_t`` odd).
    """

    def __init__(self, c_in: int, c_out: int, kernel_t: int = 2, causal: bool = True):
        if causal:
            conv = CausalConv2d(c_in, c_out, (3, kernel_t), stride_f=2)
        elif kernel_t % 2:
            conv = nn.Conv2d(c_in, c_out, (3, kernel_t), stride=(2, 1), padding=(1, kernel_t // 2))
        else:
            raise ConfigError(f"a centred (non-causal) time kernel must be odd, got {kernel_t}")
        super().__init__(conv, nn.BatchNorm2d(c_out), nn.PReLU(c_out))


class FreqUp(nn.Module):
    """Transposed conv doubling frequency, cropped to ``size``; BatchNorm + PReLU unless final.

    ``(B, C_in, K, N) -> (B, C_out, size, N)`` with ``size <= 2 K``. The time kernel is 1, so
    it adds no latency.
    """

    def __init__(self, c_in: int, c_out: int, final: bool = False):
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, (4, 1), stride=(2, 1), padding=(1, 0))
        # The final layer emits raw mask logits: no norm or activation may squash them.
        self.post = nn.Sequential(*([] if final else [nn.BatchNorm2d(c_out), nn.PReLU(c_out)]))

    def forward(self, x: torch.Tensor, size: int) -> torch.Tensor:
        return self.post(self.conv(x)[..., :size, :])


class FreqEncoder(nn.Module):
    """A stack of ``FreqDown``: each level halves frequency and sets the channel count.

    ``forward`` returns every level's output, finest first (the skips for ``FreqDecoder``);
    the last one is the deepest ``(B, channels[-1], K, N)``.
    """

    def __init__(self, c_in: int, channels, kernel_t: int = 2, causal: bool = True):
        super().__init__()
        ins = (c_in, *channels[:-1])
        self.layers = nn.ModuleList(
            FreqDown(a, b, kernel_t, causal) for a, b in zip(ins, channels, strict=True)
        )

    def out_freqs(self, n_freqs: int) -> int:
        """Frequency positions ``K`` at the deepest level for ``n_freqs`` input bins."""
        for _ in self.layers:
            n_freqs = (n_freqs + 1) // 2
        return n_freqs

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        skips = []
        for layer in self.layers:
            x = layer(x)
            skips.append(x)
        return skips


class FreqDecoder(nn.Module):
    """Mirror of ``FreqEncoder``: concatenates each level's skip, then ``FreqUp``.

    ``forward(y, skips, n_freqs)``: deepest features ``(B, channels[-1], K, N)`` and the
    encoder's outputs -> ``(B, c_out, n_freqs, N)``.
    """

    def __init__(self, channels, c_out: int = 2):
        super().__init__()
        outs = (c_out, *channels[:-1])
        # layers[i] takes level i + 1 (and its skip) up to level i; level 0 is the input grid.
        self.layers = nn.ModuleList(
            FreqUp(2 * c, o, final=i == 0)
            for i, (c, o) in enumerate(zip(channels, outs, strict=True))
        )

    def forward(self, y: torch.Tensor, skips: list[torch.Tensor], n_freqs: int) -> torch.Tensor:
        sizes = [n_freqs] + [s.shape[-2] for s in skips[:-1]]
        for layer, skip, size in zip(self.layers[::-1], skips[::-1], sizes[::-1], strict=True):
            y = layer(torch.cat([y, skip], dim=1), size)  # (B, C_out, size, N)
        return y
