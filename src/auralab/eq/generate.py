"""Words to equaliser settings, settings to sound: generate, interpolate, apply, plot.

Every setting here is physical (gains in dB, frequencies in Hz, Q) and ``(13,)`` in SAFE order.
``strength`` scales every band's gain (0 = flat, 1 = the model's setting for the term) and keeps
frequencies and Q, so it stays within the bounds and its effect grows monotonically.
"""

from importlib import resources
from pathlib import Path

import numpy as np
import torch

from auralab.eq.filters import apply_eq, log_frequency_grid, magnitude_db
from auralab.eq.models import EqModel
from auralab.eq.normalise import denormalise, scale_gains
from auralab.errors import AudioError, ConfigError

MIN_LOUDNESS_S = 0.4  # one BS.1770 gating block; shorter audio is matched by RMS instead
EXAMPLE_MUSIC = "lets_go_fishin_5s.ogg"


def example_music_path() -> Path:
    """The bundled 5 s music clip: 44.1 kHz stereo, CC BY 3.0 (attribution beside it)."""
    return Path(str(resources.files("auralab") / "examples" / "music" / EXAMPLE_MUSIC))


def _check_strength(strength: float) -> float:
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"--strength {strength} is outside 0..1; 0 is flat, 1 the full setting")
    return float(strength)


@torch.no_grad()
def generate(model: EqModel, term: str, strength: float = 1.0) -> torch.Tensor:
    """The model's setting for ``term`` at ``strength`` (0..1): ``(13,)`` float64 physical."""
    weights = model.one_hot(torch.tensor([model.term_index(term)]))
    unit = scale_gains(model.generate(weights), _check_strength(strength))
    return denormalise(unit[0].double())


@torch.no_grad()
def interpolate(
    model: EqModel, a: str, b: str, steps: int = 5, strength: float = 1.0
) -> torch.Tensor:
    """Settings ``(steps, 13)`` from term ``a`` to term ``b``, moving latent and term together."""
    if steps < 2:
        raise ConfigError(f"--steps {steps}: an interpolation needs at least 2 steps")
    return settings_between(model, a, b, torch.linspace(0, 1, steps), strength)


@torch.no_grad()
def settings_between(
    model: EqModel, a: str, b: str, t: torch.Tensor, strength: float = 1.0
) -> torch.Tensor:
    """Settings ``(S, 13)`` (physical, float64) at positions ``t (S,)`` in [0, 1] from term ``a``
    (t=0) to term ``b`` (t=1), moving latent and term together."""
    t = torch.as_tensor(t, dtype=torch.float32).reshape(-1)
    if not bool(((t >= 0) & (t <= 1)).all()):
        raise ConfigError(f"interpolation positions {t.tolist()} must lie in 0..1")
    unit = scale_gains(model.generate(model.mix(a, b, t)), _check_strength(strength))
    return denormalise(unit.double())


def equalise(wav, sr: int, params, match_loudness: bool = True) -> tuple[np.ndarray, str]:
    """Apply a setting to audio and, by default, match its loudness to the input.

    Args:
        wav: ``(T,)`` or ``(C, T)`` waveform at ``sr`` Hz.
        sr: sample rate in Hz.
        params: ``(13,)`` physical setting.
        match_loudness: scale the output to the input's integrated loudness (ITU-R BS.1770
            via pyloudnorm), so a listener hears the tone change rather than a level change.

    Returns:
        ``(out, note)``: the equalised waveform (float32 numpy, shape of ``wav``) and a line
        saying what was matched. The peak is kept at or below 1 (never clipped).
    """
    x = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    x = x.astype(np.float32)
    y = apply_eq(x, sr, params)
    note = "loudness not matched"
    if match_loudness:
        gain_db, how = loudness_gain_db(x, y, sr)
        y = y * np.float32(10 ** (gain_db / 20))
        note = f"loudness matched by {how} ({gain_db:+.1f} dB)"
    peak = float(np.abs(y).max()) if y.size else 0.0
    if peak > 1.0:
        y = y * np.float32(0.999 / peak)
        note += f"; lowered {20 * np.log10(peak / 0.999):.1f} dB more to keep the peak below 1"
    return y, note


def loudness_gain_db(reference: np.ndarray, processed: np.ndarray, sr: int) -> tuple[float, str]:
    """Gain in dB that brings ``processed`` to the loudness of ``reference`` (both ``(C, T)``
    or ``(T,)``), and the method: "LUFS" (BS.1770) or "RMS" (audio under 0.4 s)."""
    if reference.shape[-1] >= MIN_LOUDNESS_S * sr:
        import pyloudnorm

        meter = pyloudnorm.Meter(sr)
        ref = meter.integrated_loudness(reference.T.astype(np.float64))
        out = meter.integrated_loudness(processed.T.astype(np.float64))
        if np.isfinite(ref) and np.isfinite(out):
            return float(ref - out), "LUFS"
    ref_rms = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64))))
    out_rms = float(np.sqrt(np.mean(np.square(processed, dtype=np.float64))))
    if ref_rms == 0 or out_rms == 0:
        return 0.0, "RMS (silent input, unchanged)"
    return 20 * float(np.log10(ref_rms / out_rms)), "RMS"


def apply_file(src: str | Path, dst: str | Path, params, match_loudness: bool = True) -> str:
    """Equalise an audio file at its own rate and channel count; returns the note line."""
    from auralab.audio import load, save

    if Path(dst).resolve() == Path(src).resolve():
        raise AudioError(f"{dst}: is the input file; choose another output path with -o")
    wav, sr = load(src, mono=False)  # (C, T)
    out, note = equalise(wav, sr, params, match_loudness)
    save(dst, out, sr)
    return note


def response_figure(settings: dict, human: dict | None = None, title: str | None = None):
    """Magnitude responses in dB on a log-frequency axis.

    Args:
        settings: label -> ``(13,)`` physical setting, one curve each.
        human: optional label -> ``(N, 13)`` human settings, drawn as median and 25-75 % band.
        title: figure title.
    """
    from auralab.report.plots import plt

    freqs = log_frequency_grid(256)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    peak = 0.0
    for label, group in (human or {}).items():
        db = magnitude_db(torch.as_tensor(group, dtype=torch.float64), freqs).numpy()
        lo, mid, hi = np.percentile(db, [25, 50, 75], axis=0)
        ax.fill_between(freqs, lo, hi, alpha=0.2, label=f"{label} 25-75 %")
        ax.plot(freqs, mid, "--", lw=1, label=f"{label} median")
        peak = max(peak, float(np.abs(lo).max()), float(np.abs(hi).max()))
    for label, params in settings.items():
        db = magnitude_db(torch.as_tensor(params).detach(), freqs).numpy()
        ax.plot(freqs, db, lw=2, label=label)
        peak = max(peak, float(np.abs(db).max()))
    # Symmetric axis fitted to the curves: a fixed +-25 dB made mild settings look flat.
    lim = min(40.0, max(6.0, float(np.ceil(peak)) + 2.0))
    ax.set(xscale="log", xlim=(20, 20000), ylim=(-lim, lim), xlabel="Hz", ylabel="dB", title=title)
    ax.axhline(0, color="grey", lw=0.5)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Write a figure as PNG (folders created) and close it."""
    from auralab.report.plots import plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
