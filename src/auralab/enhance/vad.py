"""Voice-activity detection with Silero VAD, and a speech gate built on it.

The model is the ONNX file bundled in the ``silero-vad`` package (MIT licence), run with
onnxruntime on numpy: nothing is downloaded and torch is not needed. The package is located
without importing it, because its ``__init__`` imports torch and sets torch's global thread
count to 1 as a side effect.

Silero VAD scores 32 ms windows (512 samples at 16 kHz, with the previous 64 samples as
context and a recurrent state carried across windows) with a speech probability. Segments
follow from the probabilities with hysteresis (enter at ``threshold``, leave below
``threshold - 0.15``), a minimum silence that splits segments, a minimum speech duration and
padding on both sides, the procedure the Silero authors recommend, written here for numpy.
"""

import importlib.util
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auralab.errors import AuralabError, ConfigError

VAD_SR = 16000
WINDOW = 512  # samples per probability at 16 kHz: 32 ms
CONTEXT = 64  # samples of the previous window the model sees again
MODEL_FILE = "silero_vad.onnx"


@dataclass(frozen=True)
class Segment:
    """A speech segment, in seconds from the start of the signal."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def silero_model_path() -> Path:
    """The bundled Silero VAD ONNX file inside the installed ``silero-vad`` package."""
    spec = importlib.util.find_spec("silero_vad")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise AuralabError("Silero VAD is not installed; run `pip install silero-vad`")
    path = Path(spec.submodule_search_locations[0]) / "data" / MODEL_FILE
    if not path.is_file():
        raise AuralabError(f"{path}: the silero-vad package lacks its model; reinstall it")
    return path


class SileroVad:
    """Speech probabilities from Silero VAD on onnxruntime.

    Args:
        threads: onnxruntime intra-op threads (1: the model is small and sequential).
    """

    def __init__(self, threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(silero_model_path()), opts, providers=["CPUExecutionProvider"]
        )
        self.hop_s = WINDOW / VAD_SR

    def probabilities(self, wav, sr: int) -> np.ndarray:
        """Speech probability of every 32 ms window of a mono signal.

        Args:
            wav: ``(T,)`` float waveform (numpy or torch) at ``sr`` Hz.
            sr: sample rate in Hz; other rates than 16 kHz are resampled with soxr.

        Returns:
            ``(ceil(T' / 512),)`` float32 probabilities in [0, 1], window ``i`` covering
            ``[i, i + 1) * 32 ms``; the last window is zero-padded.
        """
        x = _mono16k(wav, sr)
        n = max(1, math.ceil(x.size / WINDOW))
        x = np.concatenate([np.zeros(CONTEXT, np.float32), x, np.zeros(n * WINDOW - x.size)])
        state = np.zeros((2, 1, 128), np.float32)
        sr_in = np.array(VAD_SR, np.int64)
        probs = np.empty(n, np.float32)
        for i in range(n):  # each window with the 64 samples before it, as Silero expects
            window = x[i * WINDOW : (i + 1) * WINDOW + CONTEXT][None].astype(np.float32)
            out, state = self.session.run(None, {"input": window, "state": state, "sr": sr_in})
            probs[i] = out[0, 0]
        return probs


def _mono16k(wav, sr: int) -> np.ndarray:
    x = np.asarray(wav.numpy() if hasattr(wav, "numpy") else wav, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)  # (C, T) -> (T,): speech in any channel counts
    if x.ndim != 1 or x.size == 0:
        raise ConfigError(f"vad: expected a non-empty (T,) or (C, T) waveform, got {x.shape}")
    if sr != VAD_SR:
        import soxr

        x = soxr.resample(x, sr, VAD_SR, quality="HQ").astype(np.float32)
    return x


def segments_from_probabilities(
    probs: np.ndarray,
    duration_s: float,
    threshold: float = 0.5,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
    pad_s: float = 0.03,
    hop_s: float = WINDOW / VAD_SR,
) -> list[Segment]:
    """Speech segments from per-window probabilities.

    Args:
        probs: ``(N,)`` speech probabilities, one per ``hop_s`` seconds.
        duration_s: length of the signal in seconds (segments are clipped to it).
        threshold: a window at or above it starts speech; speech ends only after
            ``min_silence_s`` below ``threshold - 0.15`` (hysteresis against flicker).
        min_speech_s: shorter segments are dropped (clicks, coughs).
        min_silence_s: shorter pauses do not split a segment.
        pad_s: added before and after each segment (onsets and decays are quiet).
        hop_s: seconds per probability.

    Returns:
        Sorted, non-overlapping segments in seconds.
    """
    low = max(threshold - 0.15, 0.01)
    raw, start, below = [], None, 0
    for i, p in enumerate(probs):
        if start is None:
            if p >= threshold:
                start, below = i, 0
        elif p < low:
            below += 1
            if below * hop_s >= min_silence_s:  # the pause is long enough: speech ended
                raw.append((start, i - below + 1))
                start = None
        else:
            below = 0
    if start is not None:
        raw.append((start, len(probs) - below))
    kept = [(a * hop_s, b * hop_s) for a, b in raw if (b - a) * hop_s >= min_speech_s]
    return _pad_and_merge(kept, pad_s, duration_s)


def _pad_and_merge(spans, pad_s: float, duration_s: float) -> list[Segment]:
    out: list[list[float]] = []
    for a, b in spans:
        a, b = max(0.0, a - pad_s), min(duration_s, b + pad_s)
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        elif b > a:
            out.append([a, b])
    return [Segment(round(a, 4), round(b, 4)) for a, b in out]


def detect_speech(wav, sr: int, vad: SileroVad | None = None, **kwargs) -> list[Segment]:
    """Speech segments of a waveform ``(T,)`` or ``(C, T)`` at ``sr`` Hz, in seconds.

    ``kwargs`` go to ``segments_from_probabilities`` (threshold, min_speech_s, ...).
    """
    vad = vad or SileroVad()
    probs = vad.probabilities(wav, sr)
    n = wav.shape[-1]
    return segments_from_probabilities(probs, n / sr, hop_s=vad.hop_s, **kwargs)


def speech_ratio(segments: list[Segment], duration_s: float) -> float:
    """Share of ``duration_s`` covered by ``segments``, in [0, 1]."""
    return sum(s.duration for s in segments) / duration_s if duration_s > 0 else 0.0


def speech_mask(segments: list[Segment], n: int, sr: int) -> np.ndarray:
    """``(n,)`` bool: True for samples inside a segment."""
    mask = np.zeros(n, bool)
    for s in segments:
        mask[round(s.start * sr) : round(s.end * sr)] = True
    return mask


def gate_gain(mask: np.ndarray, sr: int, attenuation_db: float, ramp_s: float = 0.02):
    """Gain curve ``(n,)``: 1 on speech, ``-attenuation_db`` elsewhere, raised-cosine ramps.

    The ramps lie entirely outside the speech (the mask is widened by ``ramp_s`` before
    smoothing), so speech samples keep gain 1 exactly and onsets are never cut.
    """
    if attenuation_db < 0:
        raise ConfigError(f"attenuation_db={attenuation_db}; use a positive number of dB")
    from scipy.signal import oaconvolve

    floor = 10 ** (-attenuation_db / 20)
    r = max(1, round(ramp_s * sr / 2))  # widening by r then smoothing over +-r: a ramp_s ramp
    x = mask.astype(np.float64)
    widened = oaconvolve(x, np.ones(2 * r + 1), mode="same") > 0.5  # mask dilated by r
    hann = np.hanning(2 * r + 3)[1:-1]  # 2r + 1 positive taps; its running sum is an S-curve
    smooth = oaconvolve(widened.astype(np.float64), hann / hann.sum(), mode="same")
    smooth = np.where(mask, 1.0, np.clip(smooth, 0.0, 1.0))  # exactly 1 on speech
    return (floor + (1 - floor) * smooth).astype(np.float32)


def speech_gate(
    wav,
    sr: int,
    attenuation_db: float = 20.0,
    ramp_s: float = 0.02,
    segments: list[Segment] | None = None,
    vad: SileroVad | None = None,
    **kwargs,
):
    """Attenuate everything but speech, with smooth transitions.

    Args:
        wav: ``(T,)`` or ``(C, T)`` float waveform (numpy or torch) at ``sr`` Hz.
        sr: sample rate in Hz.
        attenuation_db: how far non-speech is turned down (20 dB: to a tenth).
        ramp_s: duration of each gain transition, placed outside the speech.
        segments: speech segments in seconds; detected with Silero VAD when ``None``
            (``kwargs`` go to ``segments_from_probabilities``).
        vad: a ``SileroVad`` to reuse.

    Returns:
        The gated waveform, same shape and type as ``wav``.
    """
    if segments is None:
        segments = detect_speech(wav, sr, vad, **kwargs)
    gain = gate_gain(speech_mask(segments, wav.shape[-1], sr), sr, attenuation_db, ramp_s)
    if hasattr(wav, "numpy"):  # torch tensor in, torch tensor out
        import torch

        return wav * torch.from_numpy(gain).to(wav.dtype)
    return (np.asarray(wav) * gain).astype(np.asarray(wav).dtype)


def gate_file(path: str | os.PathLike, attenuation_db: float, vad: SileroVad | None = None):
    """Gate an audio file in place (same format, subtype, rate and channels); returns the
    speech segments. The whole file is read into memory."""
    import soundfile as sf

    from auralab.atomic import publish

    path = Path(path)
    meta = sf.info(str(path))
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    segments = detect_speech(data.T, sr, vad)
    out = speech_gate(data.T, sr, attenuation_db, segments=segments).T
    tmp = path.with_name(f".{path.stem}.gate{path.suffix}")
    sf.write(str(tmp), out, sr, subtype=meta.subtype, format=meta.format)
    publish(tmp, path)
    return segments


# ---------------------------------------------------------------------------------------------
# Speech-active scoring for `auralab evaluate --vad`.


def score_speech_regions(jobs: list[tuple], vad: SileroVad | None = None):
    """Score every system on the speech-active samples only.

    Speech is detected on the clean reference; the samples inside its segments are
    concatenated, for the reference and each system alike, and scored with every metric of
    ``auralab evaluate``. Joins between segments are hard cuts, the same in every signal.

    Args:
        jobs: ``(noisy, clean, enhanced_or_None)`` paths, as ``evaluate.find_jobs`` gives them.

    Returns:
        An ``Evaluation`` (rows, failures, summary) and ``{file: speech ratio of clean}``.
    """
    from auralab.enhance.evaluate import Evaluation, summarise

    vad = vad or SileroVad()
    result, ratios = Evaluation(), {}
    for noisy, clean, enhanced in jobs:
        try:
            rows, ratio = _score_one(noisy, clean, enhanced, vad)
        except AuralabError as e:
            result.failures.append((noisy, str(e)))
            continue
        result.rows.extend(rows)
        ratios[Path(noisy).name] = ratio
    result.rows.sort(key=lambda r: (r["file"], r["system"]))
    result.summary = summarise(result.rows) if result.rows else {}
    return result, ratios


def _score_one(noisy: str, clean: str, enhanced: str | None, vad: SileroVad):
    from auralab.audio import load
    from auralab.metrics import speech_quality

    ref, sr = load(clean, mono="strict")
    metric_sr = sr if sr in (8000, 16000) else 16000
    ref = load(clean, sr=metric_sr, mono="strict")[0].numpy()
    segments = detect_speech(ref, metric_sr, vad)
    mask = speech_mask(segments, ref.size, metric_sr)
    if mask.sum() < metric_sr // 2:
        raise AuralabError(f"{clean}: under 0.5 s of speech detected; cannot score speech regions")
    systems = {"noisy": noisy} if enhanced is None else {"noisy": noisy, "enhanced": enhanced}
    rows = []
    for system, path in systems.items():
        wav = load(path, sr=metric_sr, mono="strict")[0].numpy()
        if wav.size != ref.size:
            raise AuralabError(f"{path}: {wav.size} samples but clean has {ref.size}")
        row = {"file": Path(noisy).name, "system": system, "sr": sr, "metric_sr": metric_sr}
        row["resampled_from"] = sr if metric_sr != sr else ""
        row.update(speech_quality(wav[mask], ref[mask], metric_sr))
        rows.append(row)
    return rows, speech_ratio(segments, ref.size / metric_sr)


def evaluate_speech_regions(jobs: list[tuple], out_dir: Path, meta: dict) -> None:
    """``auralab evaluate --vad``: score speech regions, print the table, write
    ``out_dir/speech_active/{per_file.csv,summary.json}``."""
    from auralab.enhance.evaluate import format_table, write_outputs

    result, ratios = score_speech_regions(jobs)
    extra = {**meta, "regions": "speech-active samples (Silero VAD on the clean reference)"}
    extra["speech_ratio_clean"] = ratios
    write_outputs(result, out_dir / "speech_active", extra)
    if result.rows:
        mean = sum(ratios.values()) / len(ratios)
        print(f"speech-active regions only (Silero VAD on clean; {mean:.0%} of the audio):")
        print(format_table(result.summary))
    for f, e in result.failures:
        print(f"speech regions failed: {f}: {e}")


# ---------------------------------------------------------------------------------------------
# Command line.


def add_parser(sub) -> None:
    p = sub.add_parser(
        "vad",
        help="print the speech segments of audio files (Silero VAD, offline)",
        description="Detect speech with the Silero VAD model bundled in the silero-vad package "
        "(onnxruntime, nothing downloaded) and print one line per segment in seconds.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="FILE", help="audio files")
    p.add_argument("--threshold", type=float, default=0.5, help="speech probability threshold")
    p.add_argument("--min-speech-ms", type=float, default=250, help="shorter segments dropped")
    p.add_argument("--min-silence-ms", type=float, default=100, help="shorter pauses kept")
    p.add_argument("--pad-ms", type=float, default=30, help="padding on both sides of speech")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run)


def run(args) -> int:
    from auralab.audio import load

    if not 0 < args.threshold < 1:
        raise ConfigError(f"--threshold={args.threshold}; use a probability such as 0.5")
    vad, report = SileroVad(), {}
    opts = {
        "threshold": args.threshold,
        "min_speech_s": args.min_speech_ms / 1e3,
        "min_silence_s": args.min_silence_ms / 1e3,
        "pad_s": args.pad_ms / 1e3,
    }
    for path in args.inputs:
        wav, sr = load(path)  # (T,), channels averaged, the file's own rate
        segments = detect_speech(wav, sr, vad, **opts)
        duration = wav.numel() / sr
        report[str(path)] = {
            "duration_s": round(duration, 3),
            "speech_ratio": round(speech_ratio(segments, duration), 4),
            "segments": [[s.start, s.end] for s in segments],
        }
        if not args.json:
            _print_segments(path, segments, duration)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _print_segments(path: Path, segments: list[Segment], duration: float) -> None:
    ratio = speech_ratio(segments, duration)
    print(f"{path}: {len(segments)} speech segments, {ratio:.1%} of {duration:.2f} s")
    for s in segments:
        print(f"  {s.start:8.3f} - {s.end:8.3f} s  ({s.duration:.3f} s)")
