"""``auralab enhance``: run an enhancement model over waveforms, files and folders of any length.

Long signals never go through the model in one piece: they are cut into chunks of ``chunk_s``
seconds that overlap by ``overlap_s`` seconds, each chunk is enhanced on its own, and neighbours
are cross-faded with complementary raised-cosine weights that sum to one, so an identity model
returns its input exactly. Chunks start on whole STFT hops of the model, so their frames sit on
the unchunked signal's frame grid and a model with finite context is unchanged by chunking away
from the cross-fades. Every stage is a generator over ``(C, n)`` blocks, which lets
``enhance_file`` stream a file from disk to disk with memory bounded by the chunk size.

A file at another rate than the model's is resampled with soxr to the model's rate and back,
because the user asked for *that file* to be enhanced; the CLI says so in its output.
"""

import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch
from tqdm import tqdm

from auralab.audio.files import audio_files
from auralab.audio.io import info
from auralab.audio.resample import resample
from auralab.enhance.models import MODELS, MaskingEnhancer
from auralab.enhance.pretrained import DEFAULT_MODEL, load_model
from auralab.errors import AudioError, AuralabError, ConfigError, DataError
from auralab.text import count as _count

RESAMPLE_QUALITY = "VHQ"  # same recipe as auralab.audio.resample, so both paths agree
READ_BLOCK = 1 << 16  # frames read from disk at a time
# Streamed output format per extension: float WAV is lossless for our float32 output; 24-bit FLAC
# keeps ~144 dB of range (``audio.save`` uses PCM_16 for FLAC, but a stream cannot pick later).
OUTPUT_FORMATS = {
    ".wav": ("WAV", "FLOAT"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}

Blocks = Iterable[torch.Tensor]  # (C, n) float32 pieces of one signal, in order


@dataclass(frozen=True)
class EnhancedFile:
    """What ``enhance_file`` wrote: rates in Hz, length in frames at ``sr``."""

    in_path: str
    out_path: str
    sr: int
    model_sr: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sr

    @property
    def resampled(self) -> bool:
        return self.sr != self.model_sr


def enhance_waveform(
    model: MaskingEnhancer,
    wav: torch.Tensor,
    sr: int,
    chunk_s: float = 10.0,
    overlap_s: float = 1.0,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Enhance a waveform held in memory, chunk by chunk, each channel on its own.

    Args:
        model: an enhancer; it is moved to ``device`` and run in eval mode under ``no_grad``
            (its training flag is restored afterwards).
        wav: ``(T,)`` or ``(C, T)`` float waveform at ``sr`` Hz.
        sr: sample rate of ``wav`` in Hz; another rate than ``model.sr`` is resampled with soxr
            to the model's rate and back.
        chunk_s: chunk length in seconds at the model's rate, rounded to whole STFT hops; a
            shorter signal is processed in one go. Memory grows with it, not with ``T``.
        overlap_s: cross-fade between neighbouring chunks in seconds (whole hops), at most half
            a chunk; it should exceed the model's context for chunking to be transparent.
        device: where the model runs (``"cpu"``, ``"cuda"``, ...).

    Returns:
        The enhanced waveform, float32, same shape as ``wav`` (exactly ``T`` samples) at ``sr`` Hz.

    Raises:
        AudioError: empty waveform, NaN or infinite samples, or a shape other than 1-D / 2-D.
        ConfigError: bad chunk or overlap, or an unavailable device.
    """
    x = _as_channels(wav)  # (C, T)
    size, overlap = chunk_sizes(model.sr, chunk_s, overlap_s, model.stft.hop)
    device = check_device(device)
    x = resample(x, int(sr), model.sr) if sr != model.sr else x  # (C, T') at model.sr
    with _eval_mode(model, device):
        chunks = _enhanced_chunks(model, _chunks([x], size, overlap), device)
        y = torch.cat(list(_overlap_add(chunks, overlap)), dim=-1)  # (C, T')
    y = resample(y, model.sr, int(sr)) if sr != model.sr else y
    y = torch.cat(list(_exact_length([y], wav.shape[-1], y.shape[0])), dim=-1)  # (C, T)
    return y[0] if wav.dim() == 1 else y


def enhance_file(
    model: MaskingEnhancer,
    in_path: str | os.PathLike,
    out_path: str | os.PathLike,
    chunk_s: float = 10.0,
    overlap_s: float = 1.0,
    device: str | torch.device = "cpu",
    on_progress: Callable[[float], None] | None = None,
) -> EnhancedFile:
    """Enhance an audio file into another, streaming: memory does not grow with the file length.

    Blocks are read with ``soundfile``, resampled (if needed) with ``soxr.ResampleStream``,
    chunked and cross-faded as in ``enhance_waveform`` (same result within float rounding),
    resampled back and written block by block to a temporary file renamed at the end.

    Args:
        model: an enhancer, moved to ``device`` and run in eval mode.
        in_path: a WAV, FLAC, OGG or MP3 file, any rate, any number of channels.
        out_path: output file, the format given by its extension (WAV: 32-bit float; FLAC: 24-bit;
            OGG Vorbis / Opus, MP3), at the input's rate and channel count, same length.
        chunk_s, overlap_s, device: as in ``enhance_waveform``.
        on_progress: called with the seconds of audio written after each written block.

    Returns:
        What was written (rates, channels, frames).

    Raises:
        AudioError: missing, unreadable, empty or non-finite input; output over the input; output
            that its format cannot hold (e.g. FLAC with peaks above 1.0).
        ConfigError: bad chunk or overlap, or an unavailable device.
    """
    src, dst = Path(in_path), Path(out_path)
    meta = info(src)  # one-line errors for missing and undecodable files
    if meta.frames == 0:
        raise AudioError(f"{src}: contains no samples; remove it or replace it with real audio")
    if dst.resolve() == src.resolve():
        raise AudioError(f"{dst}: output would overwrite its own input; write it elsewhere")
    size, overlap = chunk_sizes(model.sr, chunk_s, overlap_s, model.stft.hop)
    device = check_device(device)
    sr, ch = meta.sr, meta.channels
    with _eval_mode(model, device), _atomic_writer(dst, sr, ch) as write:
        x = _resampled(_read_blocks(src, meta.frames), sr, model.sr, ch)
        y = _overlap_add(_enhanced_chunks(model, _chunks(x, size, overlap), device), overlap)
        done = 0
        for block in _exact_length(_resampled(y, model.sr, sr, ch), meta.frames, ch):
            write(block)
            done += block.shape[-1]
            if on_progress is not None:
                on_progress(done / sr)
    return EnhancedFile(str(src), str(dst), sr, model.sr, ch, meta.frames)


def chunk_sizes(sr: int, chunk_s: float, overlap_s: float, hop: int = 1) -> tuple[int, int]:
    """``(chunk, overlap)`` in samples at ``sr`` Hz, rounded to whole STFT hops of the model.

    Whole hops keep every chunk's STFT frames on the frame grid of the unchunked signal: without
    that, a mask model sees shifted frames in each chunk and its output changes everywhere.

    Raises:
        ConfigError: ``chunk_s`` not positive, or ``overlap_s`` outside [0, chunk / 2].
    """
    if not 0 < chunk_s < math.inf:
        raise ConfigError(f"chunk_s={chunk_s} must be a positive number of seconds; use e.g. 10")
    size = hop * max(1, round(chunk_s * sr / hop))
    overlap = hop * round(overlap_s * sr / hop) if overlap_s >= 0 else -1
    if not 0 <= 2 * overlap <= size:
        # Beyond half a chunk, three chunks would overlap and pairwise fades no longer sum to 1.
        raise ConfigError(
            f"overlap_s={overlap_s} must be between 0 and half of chunk_s={chunk_s}; "
            "use a longer chunk or a shorter overlap"
        )
    return size, overlap


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``; CUDA that is not available is a one-line ConfigError."""
    try:
        device = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device={device!r} is not a torch device; use cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(
            f"device={str(device)!r} but CUDA is not available (torch {torch.__version__}, "
            f"{build}); use --device cpu"
        )
    return device


# ---------------------------------------------------------------------------------------------
# Stream stages: each takes and yields (C, n) float32 blocks of one signal.


def _chunks(blocks: Blocks, size: int, overlap: int) -> Iterator[tuple[torch.Tensor, bool]]:
    """Cut a stream into ``(C, <=size)`` chunks starting every ``size - overlap`` samples.

    Yields ``(chunk, is_last)``. A chunk is only known not to be the last once a sample beyond it
    has arrived, hence ``> size``. Every chunk but the first is longer than ``overlap``.
    """
    hop = size - overlap
    buf = None
    for block in blocks:
        buf = block if buf is None else torch.cat([buf, block], dim=-1)
        while buf.shape[-1] > size:
            yield buf[:, :size], False
            buf = buf[:, hop:]  # a view: the in-memory path never copies the signal
    if buf is not None and buf.shape[-1] > 0:
        yield buf, True


def _enhanced_chunks(model, chunks, device) -> Iterator[tuple[torch.Tensor, bool]]:
    for x, last in chunks:
        # no_grad per call, not around the generator: grad mode is global and would leak on yield.
        with torch.no_grad():
            y = model(x.to(device))  # (C, n): channels are the batch, enhanced independently
        yield y.to("cpu", torch.float32), last


def _overlap_add(chunks, overlap: int) -> Iterator[torch.Tensor]:
    """Cross-fade consecutive chunks over ``overlap`` samples; yields finished output blocks.

    Chunk ``k`` fades in over its first ``overlap`` samples while chunk ``k - 1`` fades out over
    its last ones; the weights sum to one, so samples are only held back for one overlap.
    """
    fade_in = _fade_in(overlap)  # (overlap,)
    tail = None  # previous chunk's last `overlap` samples, already weighted by 1 - fade_in
    for y, last in chunks:
        if tail is not None:
            y = torch.cat([y[:, :overlap] * fade_in + tail, y[:, overlap:]], dim=-1)
        if last:
            yield y
            return
        keep = y.shape[-1] - overlap
        tail = y[:, keep:] * (1 - fade_in)
        yield y[:, :keep]


def _fade_in(n: int) -> torch.Tensor:
    """Raised-cosine ramp of ``n`` samples rising from ~0 to ~1; ``1 - ramp`` is its partner."""
    t = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return (0.5 - 0.5 * torch.cos(torch.pi * t)).float()


def _resampled(blocks: Blocks, sr_in: int, sr_out: int, channels: int) -> Iterator[torch.Tensor]:
    """Stream resampling with soxr; identical to one-shot ``audio.resample`` (float64 inside)."""
    if sr_in == sr_out:
        yield from blocks
        return
    stream = soxr.ResampleStream(sr_in, sr_out, channels, dtype="float64", quality=RESAMPLE_QUALITY)
    for block in blocks:
        x = np.ascontiguousarray(block.numpy().T, dtype=np.float64)  # soxr wants (n, C)
        yield _from_frames(stream.resample_chunk(x))
    yield _from_frames(stream.resample_chunk(np.zeros((0, channels)), last=True))  # flush


def _exact_length(blocks: Blocks, frames: int, channels: int) -> Iterator[torch.Tensor]:
    """Trim or zero-pad a stream to ``frames`` samples: a rate round trip may be off by one."""
    done = 0
    for block in blocks:
        block = block[:, : frames - done]
        done += block.shape[-1]
        if block.shape[-1]:
            yield block
    if done < frames:
        yield torch.zeros(channels, frames - done)


def _read_blocks(path: Path, frames: int) -> Iterator[torch.Tensor]:
    """``(C, n)`` float32 blocks of a file; NaN, decoding errors and truncation are AudioErrors."""
    done = 0
    try:
        with sf.SoundFile(str(path)) as f:
            for data in f.blocks(READ_BLOCK, dtype="float32", always_2d=True):  # (n, C)
                _check_finite(data, path, done, f.samplerate)
                done += data.shape[0]
                yield torch.from_numpy(np.ascontiguousarray(data.T))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(
            f"{path}: decoding failed after {done} frames ({_short(e)}); the file is corrupt — "
            "re-export it as WAV or FLAC"
        ) from None
    if done != frames:
        raise AudioError(
            f"{path}: header says {frames} frames but {done} decoded; the file is truncated or "
            "corrupt — re-export it"
        )


def _check_finite(data: np.ndarray, path: Path, offset: int, sr: int) -> None:
    bad = ~np.isfinite(data)
    if bad.any():
        first = offset + int(np.argwhere(bad)[0][0])
        raise AudioError(
            f"{path}: contains NaN or infinite samples (first at {first / sr:.3f} s); "
            "fix or drop the file"
        )


@contextmanager
def _atomic_writer(path: Path, sr: int, channels: int):
    """Yield ``write((C, n) block)`` into a temporary file, renamed to ``path`` on success only."""
    fmt, subtype = _output_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _reserve_temp(path)
    try:
        try:
            f = sf.SoundFile(str(tmp), "w", sr, channels, subtype, format=fmt)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            raise AudioError(
                f"{path}: cannot write {fmt}/{subtype} at {sr} Hz with {channels} channels "
                f"({_short(e)}); convert the input to WAV first"
            ) from None
        with f:
            yield lambda block: _write_block(f, block, path, subtype)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _reserve_temp(path: Path) -> Path:
    # Exclusive create like mkstemp, but with the usual 0666 & ~umask permissions: mkstemp's 0600
    # would survive the rename and leave the output unreadable to everyone else.
    while True:
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}{path.suffix}")
        try:
            open(tmp, "xb").close()
            return tmp
        except FileExistsError:
            continue


def _write_block(f: sf.SoundFile, block: torch.Tensor, path: Path, subtype: str) -> None:
    x = block.numpy().T  # (n, C)
    if not np.isfinite(x).all():
        raise AudioError(f"{path}: the model produced NaN or infinite samples; check the model")
    peak = float(np.abs(x).max())
    if subtype.startswith("PCM") and peak > 1.0:
        raise AudioError(
            f"{path}: enhanced peak {peak:.3f} exceeds 1.0 and {subtype} would clip it; "
            "convert the input to WAV (output is then 32-bit float) and enhance that"
        )
    f.write(np.ascontiguousarray(x))


def _output_format(path: Path) -> tuple[str, str]:
    ext = path.suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise AudioError(
            f"{path}: cannot write {ext or 'extensionless'} files; outputs take the input's "
            f"extension, one of {', '.join(OUTPUT_FORMATS)} — convert the input to WAV"
        )
    return OUTPUT_FORMATS[ext]


def _as_channels(wav: torch.Tensor) -> torch.Tensor:
    if wav.dim() not in (1, 2) or wav.numel() == 0:
        raise AudioError(
            f"enhance: waveform of shape {tuple(wav.shape)}; expected non-empty (T,) or (C, T)"
        )
    x = (wav if wav.dim() == 2 else wav[None]).detach().to("cpu", torch.float32)
    if not torch.isfinite(x).all():
        raise AudioError("enhance: waveform contains NaN or infinite samples; fix the input")
    return x


def _from_frames(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(y.T, dtype=np.float32))  # (n, C) -> (C, n)


@contextmanager
def _eval_mode(model: torch.nn.Module, device: torch.device):
    was_training = model.training
    model.to(device).eval()
    try:
        yield
    finally:
        model.train(was_training)


def _short(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:120]


# ---------------------------------------------------------------------------------------------
# Command line.


def add_parser(sub) -> None:
    p = sub.add_parser(
        "enhance",
        help="enhance speech in audio files or folders with a trained model",
        description="Enhance files of any length, rate and channel count. Folders are searched "
        "recursively and their layout is kept under -o; each output has its input's name "
        "(plus --suffix), format, rate, channels and length.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="audio files or folders")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"shipped model name, checkpoint (.pt) or run folder (default: {DEFAULT_MODEL})",
    )
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the model runs")
    p.add_argument("--chunk-s", type=float, default=10.0, help="chunk length in seconds")
    p.add_argument("--overlap-s", type=float, default=1.0, help="cross-fade between chunks, s")
    p.add_argument("--suffix", default="", help="added to each output's file stem")
    p.add_argument(
        "--threads", type=int, help="CPU threads for the model (default: torch's choice)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--vad",
        action="store_true",
        help="turn non-speech in the output down by --vad-db, with smooth transitions "
        "(speech found by Silero VAD on the enhanced output)",
    )
    p.add_argument("--vad-db", type=float, default=20.0, help="non-speech attenuation, dB")
    p.set_defaults(run=run)


def run(args) -> int:
    device = check_device(args.device)
    _set_threads(args.threads)
    jobs, failures = plan_jobs(args.inputs, args.out, args.suffix)
    model = load_model(args.model, device)
    chunk_sizes(model.sr, args.chunk_s, args.overlap_s, model.stft.hop)  # once, not per file
    print(describe_model(model, args.model, device))
    start, done = time.perf_counter(), []
    for src, dst in tqdm(jobs, desc="enhance", unit="file", disable=args.quiet):
        try:
            done.append(_enhance_one(model, src, dst, args, device))
            if getattr(args, "vad", False):
                from auralab.enhance.vad import gate_file

                gate_file(dst, args.vad_db)  # rewrites dst with non-speech turned down
        except AuralabError as e:
            failures.append((str(src), str(e)))
    _report(done, failures, args.out, time.perf_counter() - start)
    return 1 if failures else 0


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    if threads < 1:
        raise ConfigError(f"--threads={threads}; use 1 or more")
    # On a busy machine fewer threads can be much faster: idle threads wait on each other.
    torch.set_num_threads(threads)


def _enhance_one(model, src: Path, dst: Path, args, device) -> EnhancedFile:
    seconds = _seconds(src)
    # A second bar, in seconds of audio written, only for files longer than one chunk.
    quiet = args.quiet or seconds <= args.chunk_s
    with tqdm(
        total=round(seconds, 1), desc=src.name[:30], unit="s", leave=False, disable=quiet
    ) as bar:
        return enhance_file(
            model,
            src,
            dst,
            args.chunk_s,
            args.overlap_s,
            device,
            on_progress=lambda s: bar.update(round(s, 1) - bar.n),
        )


def _seconds(path: Path) -> float:
    try:
        return info(path).seconds
    except AuralabError:
        return 0.0  # enhance_file reports the problem as this file's failure


def plan_jobs(
    inputs: list[Path], out: Path, suffix: str = ""
) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """Pair each input file with its output path under ``out``.

    A folder's files keep their layout relative to it; a file goes straight into ``out``.

    Returns:
        ``(jobs, failures)``: ``(input, output)`` pairs, and ``(input, reason)`` for folders
        holding no audio. Missing files stay in ``jobs`` and fail there, with the others.

    Raises:
        ConfigError: ``out`` inside an input folder, an output over its own input, or two inputs
            mapped to one output.
    """
    jobs, failures = [], []
    for item in inputs:
        if not item.is_dir():
            jobs.append((item, out / _out_name(Path(item.name), suffix)))
            continue
        if out.resolve().is_relative_to(item.resolve()):
            raise ConfigError(
                f"-o {out} is inside input folder {item}; a rerun would enhance the outputs "
                "again — pick an output folder outside it"
            )
        try:
            files = audio_files(item, "input")
        except DataError as e:
            failures.append((str(item), str(e)))
            continue
        jobs += [(f, out / _out_name(f.relative_to(item), suffix)) for f in files]
    _refuse_clashes(jobs)
    return jobs, failures


def _out_name(rel: Path, suffix: str) -> Path:
    return rel.with_name(f"{rel.stem}{suffix}{rel.suffix}")


def _refuse_clashes(jobs: list[tuple[Path, Path]]) -> None:
    seen: dict[Path, Path] = {}
    for src, dst in jobs:
        key = dst.resolve()
        if key == src.resolve():
            raise ConfigError(
                f"{dst}: output would overwrite its own input; pass another -o or a --suffix"
            )
        if key in seen:
            raise ConfigError(
                f"{seen[key]} and {src} would both be written to {dst}; enhance them in "
                "separate runs or into separate -o folders"
            )
        seen[key] = src


def describe_model(model: MaskingEnhancer, name: str, device: torch.device) -> str:
    """One line: which model, how big, its latency and rate, and the device."""
    arch = next((n for n in MODELS.names() if MODELS.get(n) is type(model)), type(model).__name__)
    source = name if name == arch else f"{name} ({arch})"
    return (
        f"model: {source}, {model.num_params() / 1e3:.1f} K params, "
        f"{model.latency_s * 1e3:.1f} ms latency, works at {model.sr} Hz; device: {device}"
    )


def _report(done: list[EnhancedFile], failures, out: Path, elapsed: float) -> None:
    rates = sorted({d.sr for d in done if d.resampled})
    if rates:
        n = sum(d.resampled for d in done)
        model_sr = done[0].model_sr
        print(
            f"note: {n} file(s) at {', '.join(map(str, rates))} Hz were resampled to {model_sr} Hz "
            f"for the model and back to their own rate (soxr {RESAMPLE_QUALITY})"
        )
    audio_s = sum(d.seconds for d in done)
    rtf = f", real-time factor {elapsed / audio_s:.3f}" if audio_s else ""
    print(
        f"{_count(len(done), 'file')} enhanced ({audio_s:.1f} s of audio in {elapsed:.1f} s{rtf}), "
        f"{len(failures)} failed; outputs in {out}/"
    )
    for f, e in failures:
        print(f"failed: {f}: {e}")
