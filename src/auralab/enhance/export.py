"""``auralab export``: a causal model as an ONNX frame-step graph, optionally quantised to int8.

The graph is the model's ``masker_step`` and nothing else: one STFT frame in (real and imaginary
parts, so the graph holds no complex tensor), the model state in as explicit inputs, the raw
mask logits and the next state out. Framing, window, FFT, mask bounding and overlap-add stay
outside in numpy (``auralab.enhance.onnx_runtime``), which is why the graph exports with the
plain TorchScript-based exporter and runs on any onnxruntime.

Every export is checked before it is written: the numpy + onnxruntime stream must reproduce the
PyTorch ``StreamingEnhancer`` within ``PARITY_TOL`` on a test signal, or the export fails.
int8 graphs are quantised by onnxruntime: dynamically (weights int8, activations quantised on
the fly), or statically with activation ranges calibrated on real speech fed through the
stream, state included. Their deviation from fp32 is measured and written to ``meta.json``.
"""

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from auralab import __version__
from auralab.atomic import atomic_write_text, publish
from auralab.enhance.models import MaskingEnhancer
from auralab.enhance.onnx_runtime import (
    FORMAT,
    FORMAT_VERSION,
    FP32,
    INT8,
    META,
    OnnxStreamingEnhancer,
)
from auralab.enhance.pretrained import DEFAULT_MODEL, load_model
from auralab.enhance.stream import StreamingEnhancer
from auralab.errors import AuralabError, ConfigError

OPSET = 17
PARITY_TOL = 1e-4  # max abs difference, waveform in [-1, 1], ONNX fp32 vs PyTorch streaming
QUANT_MODES = ("dynamic", "static")
CALIBRATION_FRAMES = 1500  # about 10 s of speech at the tiny model's 7 ms hop
DYNAMIC_OPS = ["MatMul", "Gemm", "LSTM"]
STATIC_OPS = ["Conv", "ConvTranspose", "MatMul", "Gemm"]


class _RealPairSpectrum:
    """A complex ``(B, F, N)`` spectrum held as two real tensors, for export only.

    The TorchScript ONNX exporter has no complex dtype. ``masker_step`` implementations only
    take the magnitude of the spectrum, scale it by a real tensor and read its real and
    imaginary parts (``compressed_features``); this class offers exactly those, so the traced
    graph is real-valued. A model that does anything else with its spectrum fails to export
    with an ``AttributeError`` naming the missing operation.
    """

    def __init__(self, re: torch.Tensor, im: torch.Tensor):
        self.real, self.imag = re, im

    @property
    def shape(self) -> torch.Size:
        return self.real.shape

    def dim(self) -> int:
        return self.real.dim()

    def abs(self) -> torch.Tensor:
        return torch.sqrt(self.real * self.real + self.imag * self.imag)

    def __mul__(self, other: torch.Tensor) -> "_RealPairSpectrum":
        if isinstance(other, _RealPairSpectrum) or torch.is_complex(other):
            raise TypeError("export supports spectrum * real tensor only")
        return _RealPairSpectrum(self.real * other, self.imag * other)

    __rmul__ = __mul__


class FrameStep(nn.Module):
    """``masker_step`` on real tensors: the module that is exported.

    ``forward(spec_re (1, F, N), spec_im (1, F, N), *state) -> (mask_re (1, F, N),
    mask_im (1, F, N), *next_state)`` for any number ``N >= 1`` of consecutive frames (a
    dynamic axis: a caller with several frames ready runs them in one call, which saves the
    per-call and per-operator overhead that dominates a model this small), with the mask as
    raw logits (bounded outside the graph) and the state tensors shaped as
    ``model.init_state(1)`` gives them.
    """

    def __init__(self, model: MaskingEnhancer):
        super().__init__()
        self.model = model
        # The exporter restores the wrapper's own mode afterwards, recursively: a wrapper left
        # in training mode would switch the model's BatchNorms to training behind our back.
        self.eval()

    def forward(self, spec_re: torch.Tensor, spec_im: torch.Tensor, *state: torch.Tensor):
        spec = _RealPairSpectrum(spec_re, spec_im)  # (1, F, N)
        raw, state = self.model.masker_step(spec, list(state))  # (1, 2, F, N)
        return (raw[:, 0], raw[:, 1], *state)


def export_onnx(
    model: MaskingEnhancer,
    out_dir: str | Path,
    int8: str | None = None,
    calibration: list | None = None,
    model_name: str | None = None,
) -> dict:
    """Export ``model`` to ``out_dir/model.onnx`` (+ ``model.int8.onnx``) and ``meta.json``.

    Args:
        model: a causal ``MaskingEnhancer`` with ``init_state`` / ``masker_step``.
        out_dir: folder to write (created); existing export files in it are replaced.
        int8: ``None``, ``"dynamic"`` or ``"static"`` (needs ``calibration``).
        calibration: ``(T,)`` float waveforms at ``model.sr`` (real speech) for static int8.
        model_name: what the model was loaded as, recorded in ``meta.json``.

    Returns:
        The ``meta.json`` contents.

    Raises:
        ConfigError: a model that cannot stream, an unknown ``int8`` mode, static without
            calibration audio.
        AuralabError: the exported graph does not match PyTorch within ``PARITY_TOL``.
    """
    if int8 not in (None, *QUANT_MODES):
        raise ConfigError(f"int8={int8!r}; use one of {', '.join(QUANT_MODES)} or None")
    if int8 == "static" and not calibration:
        raise ConfigError("static int8 needs calibration audio (real speech at the model's rate)")
    torch_stream = StreamingEnhancer(model)  # refuses non-causal models in one line
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = model.init_state(1)
    meta = _meta(model, torch_stream, state, model_name)
    try:
        _write_graph(FrameStep(model), state, model.stft.n_freqs, out / FP32)
        _record_file(meta, out / FP32)
        _write_meta(meta, out)  # the runtime used by the checks reads it
        meta["parity"] = check_parity(model, out)
        if int8:
            _quantise(out, int8, calibration)
            _record_file(meta, out / INT8, quantisation=int8)
            _write_meta(meta, out)
            meta["files"][INT8]["vs_fp32"] = compare_int8(out)
    except BaseException:
        for name in (FP32, INT8, META):  # never leave an export that failed its checks
            (out / name).unlink(missing_ok=True)
        raise
    _write_meta(meta, out)
    return meta


def _meta(model: MaskingEnhancer, stream: StreamingEnhancer, state, name: str | None) -> dict:
    arch = type(model).__name__
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "auralab_version": __version__,
        "model": name or arch,
        "model_class": arch,
        "model_config": model.config(),
        "sr": model.sr,
        "n_fft": stream.n_fft,
        "hop": stream.hop,
        "window": model.stft.window,
        "window_values": stream.window.tolist(),  # (n_fft,) exactly the samples torch uses
        "mask": model.mask_kind,
        "atten_lim_db": getattr(model, "atten_lim_db", None),  # applied with the mask, in numpy
        "latency_samples": stream.latency_samples,
        "latency_ms": 1e3 * stream.latency_samples / model.sr,
        "opset": OPSET,
        "inputs": ["spec_re", "spec_im"] + [f"state_{i}" for i in range(len(state))],
        "outputs": ["mask_re", "mask_im"] + [f"state_{i}_out" for i in range(len(state))],
        "state": [{"name": f"state_{i}", "shape": list(s.shape)} for i, s in enumerate(state)],
        "files": {},
    }


def _write_graph(step: FrameStep, state: list[torch.Tensor], n_freqs: int, path: Path) -> None:
    n = len(state)
    # Traced with 3 frames (not 1, which the tracer could fold into constants); the frame axis
    # is declared dynamic and check_parity runs the graph with 1 and with many frames per call.
    args = (torch.zeros(1, n_freqs, 3), torch.zeros(1, n_freqs, 3), *state)
    frames = {2: "frames"}
    tmp = _temp_beside(path)
    try:
        with warnings.catch_warnings():
            # The legacy exporter warns that it is legacy and that RNN batch sizes are fixed
            # (the frame step is batch 1 by design; the dynamo exporter would need onnxscript).
            # Tracer warnings about data-dependent branches are caught by check_parity instead.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                step,
                args,
                str(tmp),
                dynamo=False,
                opset_version=OPSET,
                input_names=["spec_re", "spec_im"] + [f"state_{i}" for i in range(n)],
                output_names=["mask_re", "mask_im"] + [f"state_{i}_out" for i in range(n)],
                dynamic_axes={
                    "spec_re": frames,
                    "spec_im": frames,
                    "mask_re": frames,
                    "mask_im": frames,
                },  # fmt: skip
                do_constant_folding=True,
            )
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, AttributeError | TypeError):  # _RealPairSpectrum lacks what it used
            raise ConfigError(
                f"{type(step.model).__name__}.masker_step uses the complex spectrum in a way the "
                f"export does not support ({e}); build its features from magnitude, real, imag"
            ) from None
        raise
    publish(tmp, path)


def check_parity(model: MaskingEnhancer, out_dir: Path, seconds: float = 1.5) -> dict:
    """Stream a test signal through the exported fp32 graph; fail unless it equals PyTorch.

    The reference is the offline ``model(x)``, which the PyTorch ``StreamingEnhancer``
    reproduces (``tests/enhance/test_stream.py``); comparing with it checks the graph, the
    numpy framing and the flush at once.

    Returns:
        ``{"signal": ..., "max_abs": float, "tol": PARITY_TOL}``.

    Raises:
        AuralabError: max abs difference above ``PARITY_TOL``.
    """
    wav = probe_signal(model.sr, seconds)
    with torch.no_grad():
        ref = model(torch.from_numpy(wav)[None])[0].numpy()
    stream = OnnxStreamingEnhancer(out_dir)
    # 10 ms chunks run one or two frames per call; 0.5 s chunks run dozens in one call.
    chunks = (round(0.01 * model.sr), round(0.5 * model.sr))
    err = max(float(np.abs(ref - stream_onnx(stream, wav, c)).max()) for c in chunks)
    if not err <= PARITY_TOL:  # also catches NaN
        raise AuralabError(
            f"{out_dir / FP32}: ONNX output differs from PyTorch by {err:.2e} (tolerance "
            f"{PARITY_TOL:.0e}); the model's masker_step does something the export does not "
            "reproduce — report it with the model name"
        )
    return {
        "signal": f"probe_signal({seconds} s)",
        "chunks": list(chunks),
        "reference": "offline",
        "max_abs": err,
        "tol": PARITY_TOL,
    }


def compare_int8(out_dir: Path, seconds: float = 1.5) -> dict:
    """How far ``model.int8.onnx`` strays from ``model.onnx`` on the test signal.

    Raises:
        AuralabError: the int8 graph produces NaN or infinite samples.
    """
    fp32 = OnnxStreamingEnhancer(out_dir)
    wav = probe_signal(fp32.sr, seconds)
    ref = stream_onnx(fp32, wav)
    got = stream_onnx(OnnxStreamingEnhancer(out_dir / INT8), wav)
    if not np.isfinite(got).all():
        raise AuralabError(f"{out_dir / INT8}: the int8 graph produces NaN or infinite samples")
    noise = float(np.sum((got - ref) ** 2))
    snr = 10 * np.log10(float(np.sum(ref**2)) / max(noise, 1e-20))
    return {
        "signal": f"probe_signal({seconds} s)",
        "max_abs": float(np.abs(got - ref).max()),
        "snr_db": round(float(snr), 2),
    }


def probe_signal(sr: int, seconds: float) -> np.ndarray:
    """A fixed ``(T,)`` float32 signal with speech-like level changes: a gliding harmonic tone
    switched on and off every 0.25 s over white noise, peak about 0.5."""
    rng = np.random.default_rng(0)
    t = np.arange(round(sr * seconds)) / sr
    pitch = 2 * np.pi * np.cumsum(120 + 60 * np.sin(2 * np.pi * 1.5 * t)) / sr
    voice = sum(np.sin(k * pitch) / k for k in range(1, 12)) * (np.floor(t * 4) % 2)
    return (0.2 * voice + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def stream_onnx(s: OnnxStreamingEnhancer, wav: np.ndarray, chunk: int = 160) -> np.ndarray:
    """``wav`` ``(T,)`` through ``s`` in ``chunk``-sample pieces, flushed, and re-aligned with
    its input by dropping the latency: ``(T,)``, comparable with offline ``model(x)``."""
    s.reset()
    out = [s.process(wav[i : i + chunk]) for i in range(0, wav.size, chunk)] + [s.flush()]
    return np.concatenate(out)[s.latency_samples :]


# ---------------------------------------------------------------------------------------------
# int8


def _quantise(out_dir: Path, mode: str, calibration: list | None) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    src, dst = out_dir / FP32, out_dir / INT8
    tmp = _temp_beside(dst)
    with _quiet_quantiser():
        if mode == "dynamic":
            # ConvInteger has no int8-weight CPU kernel and GRU has no quantised form in
            # onnxruntime: dynamic int8 covers the matrix products and LSTMs only.
            quantize_dynamic(
                src, tmp, op_types_to_quantize=DYNAMIC_OPS, weight_type=QuantType.QInt8
            )
        else:
            reader = _CalibrationReader(OnnxStreamingEnhancer(out_dir), calibration)
            # Quantising every activation (states, norms, the mask logits) costs ~25 dB of
            # output SNR against fp32 on speech; the conv and matmul inputs alone cost ~0.
            quantize_static(
                src,
                tmp,
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                op_types_to_quantize=STATIC_OPS,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
            )
    publish(tmp, dst)


@contextmanager
def _quiet_quantiser():
    # onnxruntime.quantization logs advice ("consider pre-processing") and per-weight notes
    # through the root logger; the measured deviation in meta.json is what a user needs.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


class _CalibrationReader:
    """Feeds the graph inputs of real speech, frame by frame, as the stream produces them."""

    def __init__(self, stream: OnnxStreamingEnhancer, waveforms: list, limit=CALIBRATION_FRAMES):
        self._feeds = self._collect(stream, waveforms, limit)

    @staticmethod
    def _collect(stream, waveforms, limit) -> Iterator[dict]:
        feeds = []
        for wav in waveforms:
            for feed in stream.frame_inputs(np.asarray(wav, np.float32)):
                feeds.append(feed)
                if len(feeds) >= limit:
                    return iter(feeds)
        return iter(feeds)

    def get_next(self):
        return next(self._feeds, None)

    def rewind(self):  # onnxruntime's reader protocol; one pass is all MinMax needs
        pass


def calibration_audio(folder: str | Path, sr: int, seconds: float = 15.0) -> list[torch.Tensor]:
    """Up to ``seconds`` of ``(T,)`` waveforms at ``sr`` from the audio files under ``folder``.

    Files are taken in sorted order, one per speaker folder first so that several voices
    calibrate the ranges.
    """
    from auralab.audio import load
    from auralab.audio.files import audio_files

    files = audio_files(folder, "calibration", "pass a folder of real speech")
    by_parent: dict[Path, list[Path]] = {}
    for f in files:
        by_parent.setdefault(f.parent, []).append(f)
    ordered = [f for group in zip(*by_parent.values(), strict=False) for f in group]
    ordered += [f for f in files if f not in ordered]
    out, total = [], 0.0
    for f in ordered:
        wav = load(f, sr=sr)[0]  # (T,), channels averaged
        out.append(wav)
        total += wav.numel() / sr
        if total >= seconds:
            break
    return out


# ---------------------------------------------------------------------------------------------
# Files


def _record_file(meta: dict, path: Path, quantisation: str | None = None) -> None:
    data = path.read_bytes()
    entry = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    entry["precision"] = "int8" if quantisation else "fp32"
    if quantisation:
        entry["quantisation"] = quantisation
    meta["files"][path.name] = entry


def _write_meta(meta: dict, out: Path) -> None:
    atomic_write_text(out / META, json.dumps(meta, indent=2) + "\n")


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


# ---------------------------------------------------------------------------------------------
# Command line.


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a causal enhancement model as an ONNX frame-step graph (+ int8)",
        description="Write DIR/model.onnx (one STFT frame and the state in, raw mask and next "
        "state out), DIR/meta.json and with --int8 DIR/model.int8.onnx. The export is checked "
        f"against PyTorch streaming (max abs difference <= {PARITY_TOL:.0e}) before it is kept.",
    )
    p.add_argument(
        "model",
        nargs="?",
        default=DEFAULT_MODEL,
        help=f"shipped model name, checkpoint (.pt) or run folder (default: {DEFAULT_MODEL})",
    )
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--int8", action="store_true", help="also write an int8 model.int8.onnx")
    p.add_argument(
        "--calibration",
        type=Path,
        help="folder of real speech: static int8 with calibrated activation ranges "
        "(default without it: dynamic int8)",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    if args.calibration and not args.int8:
        raise ConfigError("--calibration only applies with --int8")
    torch.set_num_threads(1)  # tracing a frame step gains nothing from threads
    model = load_model(args.model)
    mode = ("static" if args.calibration else "dynamic") if args.int8 else None
    audio = calibration_audio(args.calibration, model.sr) if args.calibration else None
    meta = export_onnx(model, args.out, mode, audio, model_name=str(args.model))
    print(
        f"model: {meta['model']} ({meta['model_class']}), {meta['sr']} Hz, "
        f"latency {meta['latency_ms']:.1f} ms, {len(meta['state'])} state tensors"
    )
    print(
        f"parity with PyTorch on a test signal: max abs {meta['parity']['max_abs']:.2e} "
        f"(tolerance {PARITY_TOL:.0e})"
    )
    for name, entry in meta["files"].items():
        extra = ""
        if "vs_fp32" in entry:
            extra = f", {entry['quantisation']}, SNR vs fp32 {entry['vs_fp32']['snr_db']:.1f} dB"
        print(f"wrote {args.out / name} ({entry['bytes'] / 1024:.1f} KiB{extra})")
    print(f"wrote {args.out / META}")
    return 0
