"""Figures people would rather see than numbers: spectrograms (more to come)."""

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
