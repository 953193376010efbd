"""``auralab stream``: a live stream simulated from a file, with per-chunk timing.

The file is cut into chunks of ``--chunk-ms`` (what an audio callback would hand over), each
chunk goes through a streaming enhancer (PyTorch ``StreamingEnhancer`` or the onnxruntime
``OnnxStreamingEnhancer`` of an export folder) and the time each call takes is recorded. A chunk
whose processing takes longer than its own duration would make a live stream drop audio; the
report gives the p50 / p99 / max processing time against the chunk duration. ``--realtime``
also waits for each chunk's arrival time on the wall clock, as a sound card would.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from auralab.errors import ConfigError


@dataclass
class StreamTimings:
    """Per-chunk processing times in seconds, and the chunk duration they compete with."""

    chunk_s: float
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    late: int = 0  # chunks finished after the next one arrived (only measured with realtime)

    def percentiles(self, which: str = "wall") -> dict[str, float]:
        """``{"p50", "p99", "max"}`` of the ``wall`` or ``cpu`` times, in seconds."""
        t = np.asarray(getattr(self, which))
        return {
            "p50": float(np.percentile(t, 50)),
            "p99": float(np.percentile(t, 99)),
            "max": float(t.max()),
        }

    @property
    def over_budget(self) -> int:
        """Chunks whose processing took longer than the chunk lasts."""
        return int(np.sum(np.asarray(self.wall) > self.chunk_s))


def simulate_stream(
    enhancer, wav: np.ndarray, sr: int, chunk_ms: float = 10.0, realtime: bool = False
) -> tuple[np.ndarray, StreamTimings]:
    """Feed ``wav`` to ``enhancer`` chunk by chunk, timing each ``process`` call.

    Args:
        enhancer: a ``StreamingEnhancer`` or ``OnnxStreamingEnhancer`` (fresh state is set).
        wav: ``(T,)`` float32 waveform at ``sr`` Hz (the enhancer's rate).
        sr: sample rate in Hz.
        chunk_ms: chunk duration in milliseconds (rounded to whole samples).
        realtime: sleep until each chunk's arrival time, as a live input would deliver it.

    Returns:
        ``(out, timings)``: ``out`` is ``(T,)`` aligned with ``wav`` (the enhancer's latency
        removed, its tail flushed); ``timings`` holds wall and CPU seconds per chunk.
    """
    size = max(1, round(chunk_ms * sr / 1000))
    timings = StreamTimings(chunk_s=size / sr)
    enhancer.reset()
    as_input = _input_converter(enhancer)
    outs, start = [], time.perf_counter()
    for i, first in enumerate(range(0, wav.size, size)):
        chunk = as_input(wav[first : first + size])
        if realtime:  # chunk i is complete only at its end on the wall clock
            time.sleep(max(0.0, start + (i + 1) * timings.chunk_s - time.perf_counter()))
        t0, c0 = time.perf_counter(), time.process_time()
        outs.append(np.asarray(enhancer.process(chunk)))
        t1 = time.perf_counter()
        timings.wall.append(t1 - t0)
        timings.cpu.append(time.process_time() - c0)
        timings.late += realtime and t1 > start + (i + 2) * timings.chunk_s
    outs.append(np.asarray(enhancer.flush()))
    return np.concatenate(outs)[enhancer.latency_samples :], timings


def _input_converter(enhancer):
    # The PyTorch enhancer takes tensors; converting outside the timed call keeps the timing
    # about the enhancer, as a real callback would hand it its own buffer type.
    from auralab.enhance.onnx_runtime import OnnxStreamingEnhancer

    if isinstance(enhancer, OnnxStreamingEnhancer):
        return lambda x: x
    import torch

    return torch.from_numpy


def open_enhancer(model: str, threads: int = 1):
    """A streaming enhancer from an export folder / ``.onnx`` file, a shipped name or a
    checkpoint; returns ``(enhancer, description)``."""
    from auralab.enhance.onnx_runtime import OnnxStreamingEnhancer, is_export

    if is_export(model):
        s = OnnxStreamingEnhancer(model, threads=threads)
        precision = s.meta["files"][s.onnx_file.name]["precision"]
        return s, f"{s.meta['model']} (onnxruntime {precision}, {s.onnx_file})"
    import torch

    from auralab.enhance.pretrained import load_model
    from auralab.enhance.stream import StreamingEnhancer

    torch.set_num_threads(threads)
    s = StreamingEnhancer(load_model(model))
    return s, f"{model} (PyTorch {torch.__version__})"


def format_report(t: StreamTimings, audio_s: float) -> str:
    """The latency table: p50 / p99 / max per chunk, in ms and as a share of the chunk."""
    lines = [
        f"{'per-chunk time':<16}{'p50':>9}{'p99':>9}{'max':>9}   (chunk {1e3 * t.chunk_s:.2f} ms)"
    ]
    for which in ("wall", "cpu"):
        p = t.percentiles(which)
        lines.append(f"{which + ' ms':<16}" + "".join(f"{1e3 * v:>9.3f}" for v in p.values()))
    p = t.percentiles("wall")
    lines.append(f"{'wall / chunk':<16}" + "".join(f"{v / t.chunk_s:>9.1%}" for v in p.values()))
    n = len(t.wall)
    lines.append(
        f"real-time factor {sum(t.wall) / audio_s:.4f} wall, {sum(t.cpu) / audio_s:.4f} CPU; "
        f"{t.over_budget} of {n} chunks took longer than their duration"
    )
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "stream",
        help="enhance a file as a simulated live stream and report per-chunk latency",
        description="Feed IN to a streaming enhancer in chunks of --chunk-ms, time every "
        "chunk, write the enhanced stream (latency removed, so it lines up with IN) to OUT.",
    )
    p.add_argument("input", type=Path, metavar="IN", help="audio file (mono or downmixed)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output audio file")
    p.add_argument(
        "--model",
        default="tiny",
        help="export folder or .onnx file from `auralab export`, shipped model name, or "
        "checkpoint (default: tiny)",
    )
    p.add_argument("--chunk-ms", type=float, default=10.0, help="chunk duration in ms")
    p.add_argument("--realtime", action="store_true", help="wait for each chunk's wall time")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the model")
    p.set_defaults(run=run)


def run(args) -> int:
    from auralab.audio import load, save

    if not 0 < args.chunk_ms <= 10_000:
        raise ConfigError(f"--chunk-ms={args.chunk_ms}; use a duration such as 10")
    if args.threads < 1:
        raise ConfigError(f"--threads={args.threads}; use 1 or more")
    enhancer, desc = open_enhancer(args.model, args.threads)
    sr = enhancer.sr if hasattr(enhancer, "sr") else enhancer.model.sr
    wav, file_sr = load(args.input, sr=None)
    if file_sr != sr:
        print(f"note: {args.input} is at {file_sr} Hz; resampled to the model's {sr} Hz (soxr)")
        wav = load(args.input, sr=sr)[0]
    audio = wav.numpy().astype(np.float32)
    print(f"model: {desc}; algorithmic latency {1e3 * enhancer.latency_s:.1f} ms at {sr} Hz")
    out, timings = simulate_stream(enhancer, audio, sr, args.chunk_ms, args.realtime)
    print(
        f"stream: {args.input.name}, {audio.size / sr:.2f} s in {len(timings.wall)} chunks"
        + (", paced to the wall clock" if args.realtime else "")
    )
    print(format_report(timings, audio.size / sr))
    if args.realtime:
        print(f"{timings.late} chunks finished after the next chunk arrived")
    save(args.out, out, sr)
    print(f"wrote {args.out} ({sr} Hz, aligned with the input: the latency is removed)")
    return 0
