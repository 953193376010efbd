"""``auralab classify FILE... [--model CHECKPOINT] [--top-k 5]``: label sounds with a classifier.

A file is resampled (soxr) to the model's rate and cut into windows of ``window_s`` seconds (the
crop length the model was trained on) every ``hop_s`` seconds (half a window); each window gets
its own probabilities, and the file's are their mean over the loud windows, chosen by the rule
that picked the training crops (silence says nothing about the class). A file shorter than one
window is zero-padded to one. Files longer than ``LONG_FILE_S`` get their per-window labels
printed (``--json`` always has them). In a batch, a bad file is reported and skipped, the others
are still labelled, and the command exits 1 listing the failures.
"""

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from auralab.atomic import atomic_write_text
from auralab.audio.files import audio_files
from auralab.audio.io import info, load
from auralab.classify.data import MIN_CROP_ENERGY
from auralab.classify.models import LogMelClassifier
from auralab.errors import AuralabError, ConfigError
from auralab.text import count as _count

LONG_FILE_S = 10.0  # files longer than this get their per-window labels printed


@dataclass
class WindowLabel:
    """One window of a file: start and end in seconds, its top label and probability, and
    whether it was loud enough to count in the file's mean (``loud_windows``)."""

    start_s: float
    end_s: float
    label: str
    probability: float
    loud: bool = True


@dataclass
class FilePrediction:
    """What ``classify_file`` found.

    Attributes:
        path: the file.
        sr: its sample rate in Hz (the model ran at ``model_sr``).
        seconds: its duration.
        top: ``[(label, probability)]``, best first, from the mean over windows.
        windows: per-window top labels (one entry for a short file).
    """

    path: str
    sr: int
    model_sr: int
    seconds: float
    top: list[tuple[str, float]]
    windows: list[WindowLabel] = field(default_factory=list)


def window_starts(n: int, window: int, hop: int) -> list[int]:
    """Starts (samples) of windows covering ``n`` samples; the last one ends at ``n``."""
    if n <= window:
        return [0]
    starts = list(range(0, n - window + 1, hop))
    if starts[-1] + window < n:
        starts.append(n - window)  # cover the tail without padding a mostly empty window
    return starts


def loud_windows(pieces: torch.Tensor) -> torch.Tensor:
    """``(W, window)`` -> ``(W,)`` bool: windows holding enough of the loudest one's energy.

    The same rule picks training crops (``auralab.classify.data``), so the model is scored on
    the kind of window it learned from; silence carries no evidence about the class.
    """
    energy = pieces.double().square().sum(dim=1)
    if energy.max() <= 0:
        return torch.ones(len(pieces), dtype=torch.bool)
    return energy >= MIN_CROP_ENERGY * energy.max()


@torch.no_grad()
def classify_waveform(
    model: LogMelClassifier,
    wav: torch.Tensor,
    window_s: float | None = None,
    hop_s: float | None = None,
    batch_size: int = 32,
) -> tuple[np.ndarray, list[tuple[float, float]], np.ndarray, np.ndarray]:
    """Class probabilities of a waveform, window by window.

    Args:
        model: a classifier in eval mode.
        wav: ``(T,)`` mono waveform at ``model.sr`` Hz.
        window_s: window length in seconds (default ``model.window_s``, its training crop).
        hop_s: window advance in seconds (default half a window).
        batch_size: windows per forward pass.

    Returns:
        ``(probs (C,), spans [(start_s, end_s)], window_probs (W, C), loud (W,))``; ``probs``
        is the mean over the loud windows (``loud_windows``).
    """
    window, hop = _window_samples(model.sr, window_s or model.window_s, hop_s)
    n = wav.shape[-1]
    padded = torch.nn.functional.pad(wav, (0, max(0, window - n)))  # short: zero-padded
    starts = window_starts(n, window, hop)
    pieces = torch.stack([padded[s : s + window] for s in starts])  # (W, window)
    device = next(model.parameters()).device
    probs = torch.cat(
        [
            model(pieces[i : i + batch_size].to(device)).softmax(dim=1).cpu()
            for i in range(0, len(starts), batch_size)
        ]
    )  # (W, C)
    loud = loud_windows(pieces)
    mean = probs[loud].mean(dim=0)
    spans = [(s / model.sr, min(n, s + window) / model.sr) for s in starts]
    return mean.double().numpy(), spans, probs.double().numpy(), loud.numpy()


def predict_clips(model: LogMelClassifier, wavs: list[torch.Tensor]) -> np.ndarray:
    """``(N, C)`` probabilities of clips ``(T_i,)`` at ``model.sr`` (``classify_waveform``)."""
    model.eval()
    return np.stack([classify_waveform(model, w)[0] for w in wavs])


def classify_file(
    model: LogMelClassifier,
    path: str | Path,
    top_k: int = 5,
    window_s: float | None = None,
    hop_s: float | None = None,
) -> FilePrediction:
    """Label one audio file (any rate, channels averaged) with ``model``.

    Raises:
        AudioError: missing, unreadable, empty or non-finite file.
    """
    meta = info(path)
    wav, _ = load(path, sr=model.sr)  # (T,) mono at the model's rate
    mean, spans, probs, loud = classify_waveform(model, wav, window_s, hop_s)
    order = np.argsort(-mean)[:top_k]
    top = [(model.labels[i], float(mean[i])) for i in order]
    windows = [
        WindowLabel(
            round(a, 3), round(b, 3), model.labels[int(p.argmax())], float(p.max()), bool(q)
        )
        for (a, b), p, q in zip(spans, probs, loud, strict=True)
    ]
    return FilePrediction(str(path), meta.sr, model.sr, wav.shape[-1] / model.sr, top, windows)


def _window_samples(sr: int, window_s: float, hop_s: float | None) -> tuple[int, int]:
    if not (math.isfinite(window_s) and window_s > 0):
        raise ConfigError(f"--window-s {window_s}: must be a positive number of seconds")
    hop_s = window_s / 2 if hop_s is None else hop_s
    if not 0 < hop_s <= window_s:
        raise ConfigError(f"--hop-s {hop_s}: must be in (0, window-s = {window_s}]")
    return int(round(window_s * sr)), max(1, int(round(hop_s * sr)))


# --- command line -------------------------------------------------------------------------------


def add_parser(sub) -> None:
    p = sub.add_parser(
        "classify",
        help="label sound files with a classifier (top-k labels, per-window labels)",
        description="Label audio files (or every audio file in a folder) with a sound "
        "classifier: the top-k labels with probabilities, and for long files a label per "
        "window. Default model: the shipped ESC-10 classifier.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="FILE", help="audio files or folders")
    p.add_argument(
        "--model",
        default=None,
        metavar="CHECKPOINT",
        help="shipped model name, checkpoint .pt or run folder (default: esc10-cnn)",
    )
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="labels shown per file")
    p.add_argument(
        "--window-s",
        type=float,
        default=None,
        metavar="S",
        help="window length in seconds (default: the model's training crop length)",
    )
    p.add_argument("--hop-s", type=float, metavar="S", help="window advance (default: half)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write all results as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    from auralab.classify.pretrained import DEFAULT_MODEL, load_classifier

    if args.top_k < 1:
        raise ConfigError(f"--top-k {args.top_k}: must be at least 1")
    model = load_classifier(args.model or DEFAULT_MODEL)
    window_s = args.window_s or model.window_s
    _window_samples(model.sr, window_s, args.hop_s)  # refuse bad options before any file
    files, failures = _expand(args.inputs)
    t0, results = time.time(), []
    for path in files:
        try:
            result = classify_file(model, path, args.top_k, window_s, args.hop_s)
        except AuralabError as e:
            failures.append((str(path), str(e)))
            continue
        results.append(result)
        print(_format(result))
    if args.json:
        payload = {"results": [asdict(r) for r in results], "failures": dict(failures)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")
    print(f"{_count(len(results), 'file')} labelled in {time.time() - t0:.1f} s")
    if failures:
        print(f"{len(failures)} files failed:")
        for path, message in failures:
            print(f"  {message if message.startswith(path) else f'{path}: {message}'}")
        return 1
    return 0


def _expand(inputs: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    files, failures = [], []
    for item in inputs:
        if item.is_dir():
            try:
                files += audio_files(item)
            except AuralabError as e:
                failures.append((str(item), str(e)))
        else:
            files.append(item)
    return files, failures


def _format(r: FilePrediction) -> str:
    note = f" (resampled {r.sr} -> {r.model_sr} Hz)" if r.sr != r.model_sr else ""
    labels = ", ".join(f"{label} {p:.3f}" for label, p in r.top)
    lines = [f"{r.path}: {labels}{note}"]
    if r.seconds > LONG_FILE_S:
        lines += [
            f"  {w.start_s:7.2f}-{w.end_s:7.2f} s: {w.label} {w.probability:.3f}"
            + ("" if w.loud else " (quiet: not in the file's mean)")
            for w in r.windows
        ]
    return "\n".join(lines)
