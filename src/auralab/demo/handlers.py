"""What the demo's three tabs do, as plain functions (no Gradio), so they are tested directly.

Every function takes file paths (uploads or recordings, as Gradio hands them over), writes its
audio and PNG outputs into ``out_dir`` and returns their paths with the numbers. Bad input
raises an ``AuralabError`` whose one-line message the page shows.
"""

import functools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from auralab.audio import info, load, save
from auralab.demo.config import AUDIO_UPLOAD_TYPES, DemoConfig
from auralab.errors import AudioError, ConfigError, DataError

# Metrics shown in the enhance tab, in this order, with the direction that is better.
SHOWN_METRICS = {
    "pesq_wb": "PESQ-wb",
    "stoi": "STOI",
    "estoi": "ESTOI",
    "si_sdr": "SI-SDR (dB)",
    "ssnr": "SSNR (dB)",
    "csig": "CSIG",
    "cbak": "CBAK",
    "covl": "COVL",
}


# --- uploads ------------------------------------------------------------------------------------


def check_upload(path: str | os.PathLike | None, cfg: DemoConfig, what: str = "audio") -> Path:
    """Refuse an upload that is missing, of the wrong type, too big, too short or too long.

    Args:
        path: the uploaded or recorded file (``None`` when nothing was given).
        cfg: limits (``max_upload_mb``, ``min_duration_s``, ``max_duration_s``).
        what: how the message names the input ("noisy audio", "clean reference", ...).

    Returns:
        The path, checked.

    Raises:
        AudioError: one line naming the problem and the limit.
    """
    if path is None or str(path) == "":
        raise AudioError(f"no {what} given: upload a file or record one first")
    path = Path(path)
    if path.suffix.lower() not in AUDIO_UPLOAD_TYPES:
        kinds = ", ".join(AUDIO_UPLOAD_TYPES)
        raise AudioError(f"{path.name}: {what} must be one of {kinds}, not {path.suffix or '?'}")
    size_mb = path.stat().st_size / 2**20
    if size_mb > cfg.max_upload_mb:
        raise AudioError(
            f"{path.name}: {size_mb:.1f} MiB is over the demo's {cfg.max_upload_mb:g} MiB limit "
            "(max_upload_mb); upload a shorter clip"
        )
    meta = info(path)
    if not cfg.min_duration_s <= meta.seconds <= cfg.max_duration_s:
        raise AudioError(
            f"{path.name}: {meta.seconds:.2f} s is outside the demo's "
            f"{cfg.min_duration_s:g}-{cfg.max_duration_s:g} s limits (min_duration_s, "
            "max_duration_s); trim it or run the command line instead"
        )
    return path


def _load_mono(path: Path, notes: list[str], sr: int | None = None) -> tuple[torch.Tensor, int]:
    meta = info(path)
    wav, rate = load(path, sr=sr)  # mono: channels averaged
    if meta.channels > 1:
        notes.append(f"{path.name}: {meta.channels} channels averaged to mono")
    if sr is not None and meta.sr != sr:
        notes.append(f"{path.name}: resampled from {meta.sr} Hz to {sr} Hz with soxr")
    return wav, rate


# --- models (loaded once per process) ------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _enhancer(name: str):
    from auralab.enhance.pretrained import load_model

    return load_model(name)


@functools.lru_cache(maxsize=2)
def _classifier(name: str):
    from auralab.classify.pretrained import load_classifier

    return load_classifier(name)


@functools.lru_cache(maxsize=2)
def _eq_model(name: str):
    from auralab.eq.pretrained import load_model

    return load_model(name)


@functools.lru_cache(maxsize=1)
def _vad():
    from auralab.enhance.vad import SileroVad

    return SileroVad()


def eq_terms(cfg: DemoConfig) -> list[str]:
    """The descriptors the configured EQ model knows, in its vocabulary order."""
    return list(_eq_model(cfg.eq_model).terms)


# --- enhance -------------------------------------------------------------------------------------


@dataclass
class EnhanceResult:
    """Outputs of the enhance tab.

    Attributes:
        audio: enhanced mono WAV at the upload's sample rate.
        spectrograms: PNG of noisy / enhanced (/ clean) spectrograms.
        metrics: ``[{"metric", "noisy", "enhanced", "delta"}]`` when a clean reference was given,
            computed on the waveforms with the unprocessed upload as the baseline; else empty.
        notes: what was done to the input (downmix, resampling, VAD segments).
    """

    audio: Path
    spectrograms: Path
    metrics: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def enhance(
    noisy: str | os.PathLike | None,
    model: str,
    cfg: DemoConfig,
    out_dir: str | os.PathLike,
    vad: bool = False,
    clean: str | os.PathLike | None = None,
) -> EnhanceResult:
    """Enhance an upload; with a clean reference also score noisy and enhanced against it.

    Args:
        noisy: uploaded noisy speech (any rate; channels are averaged, and the page says so).
        model: one of ``cfg.enhance_models``.
        cfg: demo config.
        out_dir: folder for the outputs (created).
        vad: attenuate non-speech by ``cfg.vad_attenuation_db`` with Silero VAD.
        clean: optional clean reference of the same utterance, same rate and length, aligned.

    Raises:
        AudioError / DataError / ConfigError: bad upload, unknown model, or a clean reference
            that does not pair with the noisy upload (rate, length, lag, another utterance).
    """
    from auralab.enhance.infer import enhance_waveform
    from auralab.enhance.vad import detect_speech, speech_gate

    if model not in cfg.enhance_models:
        raise ConfigError(f"model {model!r} is not offered; choose one of {cfg.enhance_models}")
    noisy = check_upload(noisy, cfg, "noisy audio")
    clean = check_upload(clean, cfg, "clean reference") if clean not in (None, "") else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    x, sr = _load_mono(noisy, notes)
    enhancer = _enhancer(model)
    if sr != enhancer.sr:
        notes.append(f"the model runs at {enhancer.sr} Hz: resampled there and back with soxr")
    y = enhance_waveform(enhancer, x, sr)
    if vad:
        segments = detect_speech(y, sr, _vad())
        y = speech_gate(y, sr, cfg.vad_attenuation_db, segments=segments)
        notes.append(
            f"VAD: {len(segments)} speech segment(s); the rest turned down "
            f"{cfg.vad_attenuation_db:g} dB"
        )
    stem = _stem(noisy)
    audio = save_audio(out / f"{stem}-enhanced.wav", y, sr)
    signals = {"noisy": x, "enhanced": y}
    metrics = []
    if clean is not None:
        metrics, ref = _score_against_clean(noisy, x, y, sr, clean, out, notes)
        signals["clean"] = ref
    spectrograms = _save_spectrograms(signals, sr, out / f"{stem}-spectrograms.png")
    return EnhanceResult(audio, spectrograms, metrics, notes)


def _score_against_clean(noisy: Path, x, y, sr: int, clean: Path, out: Path, notes: list[str]):
    """Rows of metrics for noisy and enhanced against ``clean``, after the pair check."""
    from auralab.check.pairs import check_pairs
    from auralab.enhance.evaluate import score_pair

    pair = out / "pair"
    shutil.rmtree(pair, ignore_errors=True)
    name = f"{_stem(noisy)}.wav"
    # The pair is checked exactly as `auralab check pairs` would: same file name in two folders.
    save_audio(pair / "noisy" / name, x, sr)
    ref_meta = info(clean)
    if ref_meta.channels > 1:
        raise DataError(
            f"{clean.name}: the clean reference has {ref_meta.channels} channels; metrics need "
            "the mono reference the noisy file was made from"
        )
    ref, ref_sr = load(clean)
    save_audio(pair / "clean" / name, ref, ref_sr)
    report = check_pairs(pair / "noisy", pair / "clean")
    if not report.ok:
        f = report.errors[0]
        problem = f.problem.replace(str(pair / "clean" / name), clean.name)
        raise DataError(f"{clean.name} does not pair with {noisy.name}: {problem}; {f.fix}")
    notes += [f"pair check: {w.problem}" for w in report.warnings]
    save_audio(pair / "enhanced" / name, y, sr)
    rows = score_pair(
        str(pair / "noisy" / name), str(pair / "clean" / name), str(pair / "enhanced" / name)
    )
    by_system = {r["system"]: r for r in rows}
    if by_system["noisy"]["resampled_from"]:
        notes.append(f"metrics computed at 16 kHz (audio resampled from {sr} Hz)")
    table = []
    for key, label in SHOWN_METRICS.items():
        a, b = float(by_system["noisy"][key]), float(by_system["enhanced"][key])
        table.append({"metric": label, "noisy": a, "enhanced": b, "delta": b - a})
    return table, ref


def _save_spectrograms(signals: dict, sr: int, path: Path) -> Path:
    from auralab.eq.generate import save_figure
    from auralab.report.plots import spectrogram_figure

    return save_figure(spectrogram_figure(signals, sr), path)


# --- classify ------------------------------------------------------------------------------------


@dataclass
class ClassifyResult:
    """Outputs of the classify tab.

    Attributes:
        top: the ``top_k`` labels with their probabilities, best first (mean over the clip's loud
            windows).
        figure: PNG of the waveform and the log-mel spectrogram the model sees.
        notes: what was done to the input.
    """

    top: list[tuple[str, float]]
    figure: Path
    notes: list[str] = field(default_factory=list)


def classify(
    path: str | os.PathLike | None, cfg: DemoConfig, out_dir: str | os.PathLike, top_k: int = 5
) -> ClassifyResult:
    """Label an upload with the configured classifier."""
    from auralab.classify.infer import classify_waveform

    path = check_upload(path, cfg, "audio")
    model = _classifier(cfg.classifier)
    notes: list[str] = []
    wav, sr = _load_mono(path, notes, sr=model.sr)
    probs, *_ = classify_waveform(model, wav)
    order = np.argsort(-probs)[:top_k]
    top = [(model.labels[i], float(probs[i])) for i in order]
    with torch.no_grad():
        feats = model.frontend.forward(wav)  # (n_mels, frames) natural-log mel power
    figure = _save_waveform_and_logmel(wav, sr, feats, Path(out_dir) / f"{_stem(path)}-logmel.png")
    return ClassifyResult(top, figure, notes)


def _save_waveform_and_logmel(wav: torch.Tensor, sr: int, feats: torch.Tensor, path: Path) -> Path:
    from auralab.eq.generate import save_figure
    from auralab.report.plots import plt

    seconds = wav.shape[-1] / sr
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.4), sharex=True)
    t = np.arange(wav.shape[-1]) / sr
    top.plot(t, wav.numpy(), lw=0.4, color="#1f4e79")
    top.set(ylabel="amplitude", title="waveform", xlim=(0, seconds))
    bottom.imshow(
        feats.numpy(), origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, 1)
    )
    bottom.set(xlabel="seconds", ylabel="mel band (low to high)", title="log-mel", yticks=[])
    fig.tight_layout()
    return save_figure(fig, path)


# --- EQ ------------------------------------------------------------------------------------------


@dataclass
class EqResult:
    """Outputs of the EQ tab.

    Attributes:
        setting: the 13 physical parameters, ``[(name, value, unit)]``.
        response: PNG of the response curve (with the end terms' curves when interpolating).
        audio: the equalised audio (bundled music clip or upload), loudness-matched.
        note: what loudness matching did.
    """

    setting: list[tuple[str, float, str]]
    response: Path
    audio: Path
    note: str


def equalise(
    term: str | None,
    cfg: DemoConfig,
    out_dir: str | os.PathLike,
    strength: float = 1.0,
    towards: str | None = None,
    position: float = 0.0,
    audio: str | os.PathLike | None = None,
) -> EqResult:
    """An EQ setting from a descriptor (optionally part way towards another) applied to audio.

    Args:
        term: descriptor, e.g. "warm" (typed or picked; an unknown word lists close ones).
        cfg: demo config.
        out_dir: folder for the outputs (created).
        strength: 0..1, scales every gain (0 = flat).
        towards: a second descriptor to interpolate towards; empty for none.
        position: 0..1 along ``term`` -> ``towards`` (ignored without ``towards``).
        audio: audio to equalise; the bundled 5 s music clip when empty.
    """
    from auralab.eq import generate as eq
    from auralab.eq.normalise import PARAM_NAMES, UNITS, kind

    if not term or not str(term).strip():
        raise ConfigError("no descriptor given: pick or type one, e.g. warm")
    model = _eq_model(cfg.eq_model)
    term = str(term).strip()
    towards = str(towards).strip() if towards else ""
    b = towards or term
    label = term if not towards else f"{term} -> {towards} at {position:.2f}"
    t = torch.tensor([0.0, position if towards else 0.0, 1.0])
    start, params, end = eq.settings_between(model, term, b, t, strength)  # (13,) each
    out = Path(out_dir)
    curves = {label: params} if not towards else {term: start, towards: end, label: params}
    response = eq.save_figure(
        eq.response_figure(curves, title=f"auralab eq: {label} (strength {strength:.2f})"),
        out / "eq-response.png",
    )
    src = eq.example_music_path() if audio in (None, "") else check_upload(audio, cfg, "audio")
    wav, sr = load(src, mono=False)  # (C, T): the EQ keeps the channels
    y, note = eq.equalise(wav, sr, params)
    path = save_audio(out / f"{_stem(Path(src))}-eq.wav", y, sr)
    setting = [
        (n, float(v), UNITS[kind(n)]) for n, v in zip(PARAM_NAMES, params.tolist(), strict=True)
    ]
    return EqResult(setting, response, path, note)


# --- helpers -------------------------------------------------------------------------------------


def save_audio(path: Path, wav, sr: int) -> Path:
    """Save ``(T,)`` or ``(C, T)`` float audio as WAV (atomic), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(path, wav, sr)


def _stem(path: Path) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(path).stem)
    return keep[:60] or "audio"
