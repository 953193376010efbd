"""Figures people would rather see than numbers: spectrograms, attention maps."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from auralab.audio.stft import Stft  # noqa: E402


def spectrogram_figure(signals: dict[str, torch.Tensor], sr: int, n_fft: int = 512):
    """One panel per signal: log-power spectrogram in dB, shared colour scale.

    Args:
        signals: name -> ``(T,)`` waveform at ``sr`` Hz.
    """
    stft = Stft(n_fft=n_fft, hop=n_fft // 4)
    fig, axes = plt.subplots(
        len(signals), 1, figsize=(8, 2.2 * len(signals)), sharex=True, squeeze=False
    )
    for ax, (name, wav) in zip(axes[:, 0], signals.items(), strict=True):
        power = stft.forward(wav.detach().float().cpu()).abs().square()
        db = 10 * torch.log10(power + 1e-10)
        seconds = wav.shape[-1] / sr
        ax.imshow(
            db.numpy(),
            origin="lower",
            aspect="auto",
            vmin=-80,
            vmax=float(db.max()),
            extent=(0, seconds, 0, sr / 2000),
            cmap="magma",
        )
        ax.set(ylabel="kHz", title=name)
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    return fig


def attention_figure(maps: list):
    """Attention maps as a grid: one row per layer, one column per head.

    Args:
        maps: ``AttentionMap`` list from ``auralab.report.attention.attention_maps``. Each panel
            shows ``weights[head]`` with queries up and keys across, in seconds (time attention)
            or kHz (frequency attention); colour runs from 0 to the panel's 99th percentile weight
            (brighter weights saturate).
    """
    n_heads = max(m.weights.shape[0] for m in maps)
    fig, axes = plt.subplots(
        len(maps), n_heads, figsize=(2.4 * n_heads + 0.8, 2.4 * len(maps)), squeeze=False
    )
    for row, m in zip(axes, maps, strict=True):
        span = (-m.step / 2, (m.weights.shape[-1] - 0.5) * m.step)  # positions centred at i*step
        for head, ax in enumerate(row):
            if head >= m.weights.shape[0]:
                ax.axis("off")
                continue
            w = m.weights[head].detach().float().cpu()
            ax.imshow(
                w.numpy(),
                origin="lower",
                aspect="auto",
                vmin=0.0,
                vmax=float(w.quantile(0.99)),  # causal maps: row 0 is 1.0 and would hide the rest
                extent=(*span, *span),
                cmap="magma",
            )
            ax.set_title(f"{m.layer}, head {head + 1}", fontsize=8)
            ax.set_xlabel(f"key ({m.unit})", fontsize=7)
            ax.tick_params(labelsize=7)
        row[0].set_ylabel(f"{m.axis}: {m.where}\nquery ({m.unit})", fontsize=7)
    fig.tight_layout()
    return fig


def png_bytes(fig, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (to write atomically); closes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
