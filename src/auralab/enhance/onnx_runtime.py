"""Streaming enhancement with an exported frame-step graph, on numpy and onnxruntime alone.

``auralab export`` writes a folder holding ``model.onnx`` (and ``model.int8.onnx``) and
``meta.json``. The graph maps one STFT frame (its real and imaginary parts) and the model state
to the raw mask logits of that frame and the next state; everything around it, framing, window,
FFT, mask bounding, inverse FFT and overlap-add, is done here in numpy exactly as
``auralab.enhance.stream.StreamingEnhancer`` does it in torch. Deployment therefore needs
``numpy`` and ``onnxruntime`` only: this module never imports torch (a test checks it).
"""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from auralab.errors import AuralabError, ConfigError

META = "meta.json"
FP32 = "model.onnx"
INT8 = "model.int8.onnx"
FORMAT = "auralab-onnx-frame-step"
FORMAT_VERSION = 2  # 2: the graph takes any number of frames per call (1: exactly one)


def read_meta(path: str | Path) -> tuple[dict, Path]:
    """``(meta, onnx_file)`` for an export folder (its fp32 graph) or one ``.onnx`` file in it.

    Raises:
        AuralabError: no ``meta.json`` beside the graph, another format, or a graph whose
            sha256 differs from the one recorded at export.
    """
    path = Path(path)
    folder, onnx_file = (path, path / FP32) if path.is_dir() else (path.parent, path)
    meta_file = folder / META
    if not meta_file.is_file():
        raise AuralabError(f"{folder}: no {META}; create the folder with `auralab export`")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT:
        raise AuralabError(f"{meta_file}: not an auralab ONNX export (format {meta.get('format')})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise AuralabError(
            f"{meta_file}: export format version {meta.get('format_version')}, this auralab "
            f"reads version {FORMAT_VERSION}; export the model again with `auralab export`"
        )
    entry = meta["files"].get(onnx_file.name)
    if entry is None or not onnx_file.is_file():
        raise AuralabError(
            f"{onnx_file}: missing or not listed in {META}; export it again (--int8 writes {INT8})"
        )
    digest = hashlib.sha256(onnx_file.read_bytes()).hexdigest()
    if digest != entry["sha256"]:
        raise AuralabError(
            f"{onnx_file}: sha256 {digest[:12]}… does not match {META} "
            f"({entry['sha256'][:12]}…); the file was changed after export"
        )
    return meta, onnx_file


def is_export(path: str | Path) -> bool:
    """True when ``path`` is an export folder or a ``.onnx`` file beside a ``meta.json``."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return (folder / META).is_file() and (path.is_dir() or path.suffix == ".onnx")


def open_session(onnx_file: str | Path, threads: int = 1):
    """An onnxruntime CPU session with ``threads`` intra-op threads (1 for real time)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # One frame is microseconds of work: spinning threads would only burn the other cores.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # onnxruntime's warnings about unused initializers are noise
    return ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])


def apply_mask(re, im, raw_re, raw_im, kind: str, atten_lim_db: float | None = None):
    """Bounded mask from raw logits applied to a spectrum; numpy twin of ``apply_mask`` in torch.

    Works on the real/imaginary pairs the graph exchanges, so no complex array is built.

    Args:
        re, im: float32 real and imaginary parts of the noisy spectrum, any shape (``(F, N)``
            in the stream).
        raw_re, raw_im: raw mask logits from the graph, shaped like ``re``.
        kind: ``"crm"`` (``|m| = tanh(|raw|)``, phase kept) or ``"mag"`` (sigmoid of ``raw_re``).
        atten_lim_db: attenuation limit in dB (``None``: unlimited): the mask is raised to
            ``floor + (1 - floor) * mask`` with ``floor = 10^(-lim/20)``.

    Returns:
        ``(re, im)`` of the masked spectrum, float32, shaped like ``re``.
    """
    if kind == "mag":
        m_re, m_im = 1.0 / (1.0 + np.exp(-raw_re)), None
    else:
        mag = np.sqrt(raw_re * raw_re + raw_im * raw_im)
        gain = np.tanh(mag) / (mag + 1e-8)
        m_re, m_im = raw_re * gain, raw_im * gain
    if atten_lim_db is not None:
        floor = 10.0 ** (-atten_lim_db / 20.0)
        m_re = floor + (1.0 - floor) * m_re
        m_im = None if m_im is None else (1.0 - floor) * m_im
    if m_im is None:  # a real mask scales both parts
        out_re, out_im = re * m_re, im * m_re
    else:
        out_re = re * m_re - im * m_im
        out_im = re * m_im + im * m_re
    return out_re.astype(np.float32, copy=False), out_im.astype(np.float32, copy=False)


class OnnxStreamingEnhancer:
    """Real-time enhancement from an ``auralab export`` folder: any chunk size in and out.

    Same contract as ``StreamingEnhancer``: ``out[i] == offline[i - latency_samples]``, the
    first ``latency_samples`` outputs are silence, ``flush()`` returns the tail.

    Args:
        path: export folder (uses ``model.onnx``) or one ``.onnx`` file inside it (e.g.
            ``model.int8.onnx``).
        threads: onnxruntime intra-op threads; 1 suits real time on a shared CPU.

    Example:
        >>> stream = OnnxStreamingEnhancer("out/")   # numpy + onnxruntime only
        >>> for chunk in chunks:                      # (T_i,) float32 at stream.sr
        ...     out = stream.process(chunk)           # (T_i,), delayed by stream.latency_samples
    """

    def __init__(self, path: str | Path, threads: int = 1):
        self.meta, self.onnx_file = read_meta(path)
        m = self.meta
        self.sr, self.n_fft, self.hop = m["sr"], m["n_fft"], m["hop"]
        self.mask_kind = m["mask"]
        self.atten_lim_db = m.get("atten_lim_db")
        self.window = np.asarray(m["window_values"], dtype=np.float32)  # (n_fft,)
        # Overlap-add works on whole hops: a frame spans `_span` hops (zero-padded past n_fft),
        # so N frames are added with `_span` array operations instead of N.
        self._span = -(-self.n_fft // self.hop)
        power = np.pad(self.window * self.window, (0, self._span * self.hop - self.n_fft))
        self._hop_power = power.reshape(self._span, self.hop)
        self.latency_samples = m["latency_samples"]
        self.session = open_session(self.onnx_file, threads)
        self._state_names = [s["name"] for s in m["state"]]
        self._state_shapes = [tuple(s["shape"]) for s in m["state"]]
        self.reset()

    @property
    def latency_s(self) -> float:
        return self.latency_samples / self.sr

    def reset(self) -> None:
        """Forget all past input: the next sample starts a new stream."""
        half = self.n_fft // 2
        self._input = np.zeros(half, np.float32)  # the zeros torch.stft(center=True) pads with
        self._acc = np.zeros((self._span - 1, self.hop), np.float32)  # unfinished hops
        self._env = np.zeros_like(self._acc)  # their overlap-added squared windows
        self._acc_start = -half  # signal index of _acc[0, 0]
        self._ready = np.zeros(0, np.float32)  # finished samples not yet returned
        self._emitted = 0  # output samples returned
        self._received = 0  # input samples received
        self._frames = 0  # frames through the graph
        self._state = [np.zeros(s, np.float32) for s in self._state_shapes]

    def process(self, chunk) -> np.ndarray:
        """Enhance ``chunk`` ``(T,)`` float at ``sr`` Hz; returns ``(T,)`` float32, delayed."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise ConfigError(f"process() takes a mono (T,) chunk, got shape {chunk.shape}")
        self._input = np.concatenate([self._input, chunk])
        self._received += chunk.size
        self._run_frames(None)
        return self._emit(chunk.size)

    def flush(self) -> np.ndarray:
        """The last ``latency_samples`` of output; then ``reset()``.

        Runs exactly the frames the offline STFT has (``1 + T // hop`` for ``T`` samples
        received, the last ones on zero padding) and finishes every sample with the window
        power it got, so the stream's tail equals offline ``model(x)`` too.
        """
        self._input = np.concatenate([self._input, np.zeros(self.n_fft, np.float32)])
        self._run_frames(1 + self._received // self.hop)
        rest = (self._acc / np.maximum(self._env, 1e-11)).reshape(-1)
        rest = rest[max(0, -self._acc_start) : self._received - self._acc_start]
        self._ready = np.concatenate([self._ready, rest])
        out = self._emit(self._received + self.latency_samples - self._emitted)
        self.reset()
        return out

    def _run_frames(self, until: int | None) -> None:
        # Every full window in the input buffer, or (flushing) up to frame number `until`, all
        # through the graph in one call.
        n = (self._input.size - self.n_fft) // self.hop + 1
        if until is not None:
            n = min(n, until - self._frames)
        if n <= 0:
            return
        # (N, n_fft) overlapping windows as a view of the contiguous float32 input buffer.
        step = self._input.itemsize
        frames = np.ndarray(
            (n, self.n_fft), np.float32, self._input, strides=(step * self.hop, step)
        )
        self._steps(frames)
        self._input = self._input[n * self.hop :]

    def frame_inputs(self, wav) -> Iterator[dict[str, np.ndarray]]:
        """Stream ``wav`` ``(T,)`` from a fresh state, yielding each frame's graph inputs.

        The feeds are what the graph sees in deployment (state included), which is what static
        int8 calibration needs. The stream is reset afterwards.
        """
        self.reset()
        wav = np.concatenate([np.zeros(self.n_fft // 2, np.float32), np.asarray(wav, np.float32)])
        for start in range(0, wav.size - self.n_fft + 1, self.hop):
            re, im = self._analyse(wav[None, start : start + self.n_fft])
            feed = self._feed(re, im)
            yield {k: v.copy() for k, v in feed.items()}
            self._state = self.session.run(None, feed)[2:]
        self.reset()

    def _analyse(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # frames (N, n_fft) -> real and imaginary parts (F, N) each: the graph's layout. An FFT,
        # not a DFT matrix product: numpy's BLAS would spread larger products over threads,
        # and a real-time stream must stay on the one thread it was given.
        spec = np.fft.rfft(frames * self.window, axis=-1).T  # (F, N) complex64
        return np.ascontiguousarray(spec.real), np.ascontiguousarray(spec.imag)

    def _feed(self, re: np.ndarray, im: np.ndarray) -> dict[str, np.ndarray]:
        feed = {"spec_re": re[None], "spec_im": im[None]}  # (1, F, N) each
        feed.update(zip(self._state_names, self._state, strict=True))
        return feed

    def _steps(self, frames: np.ndarray) -> None:
        re, im = self._analyse(frames)  # (F, N) each
        raw_re, raw_im, *self._state = self.session.run(None, self._feed(re, im))
        out_re, out_im = apply_mask(re, im, raw_re[0], raw_im[0], self.mask_kind, self.atten_lim_db)
        frames = np.fft.irfft(out_re.T + 1j * out_im.T, n=self.n_fft, axis=-1)  # (N, n_fft)
        self._overlap_add(frames.astype(np.float32, copy=False) * self.window)

    def _overlap_add(self, frames: np.ndarray) -> None:
        # frames (N, n_fft) in time order, added onto the unfinished hops by hop offset.
        n, span = frames.shape[0], self._span
        if span * self.hop > self.n_fft:  # a hop that does not divide the window: zero-pad
            frames = np.pad(frames, ((0, 0), (0, span * self.hop - self.n_fft)))
        frames = frames.reshape(n, span, self.hop)
        acc = np.zeros((n + span - 1, self.hop), np.float32)
        env = np.zeros_like(acc)
        acc[: span - 1], env[: span - 1] = self._acc, self._env
        for k in range(span):
            acc[k : k + n] += frames[:, k]
            env[k : k + n] += self._hop_power[k]
        # The first N hops get no more contributions from later frames: they are final.
        done = (acc[:n] / np.maximum(env[:n], 1e-11)).reshape(-1)
        keep = done[max(0, -self._acc_start) :]  # positions before the signal are padding
        self._ready = np.concatenate([self._ready, keep])
        self._acc, self._env = acc[n:], env[n:]
        self._acc_start += n * self.hop
        self._frames += n

    def _emit(self, n: int) -> np.ndarray:
        # Output i is offline sample i - latency: the first `latency` outputs are silence.
        lead = min(n, max(0, self.latency_samples - self._emitted))
        body = n - lead
        if body > self._ready.size:  # impossible while latency >= n_fft; never pad silently
            raise RuntimeError(f"stream underrun: need {body} samples, have {self._ready.size}")
        out = (
            self._ready[:body]
            if lead == 0
            else np.concatenate([np.zeros(lead, np.float32), self._ready[:body]])
        )
        self._ready = self._ready[body:]
        self._emitted += n
        return out
