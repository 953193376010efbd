"""Hu & Loizou composite speech-quality measures: segmental SNR, LLR, WSS and CSIG/CBAK/COVL.

Each measure follows Loizou's MATLAB reference scripts (``comp_snr.m``, ``comp_llr.m``,
``comp_wss.m``, ``composite.m``; P. C. Loizou, *Speech Enhancement: Theory and Practice*, 2007)
frame for frame: 30 ms Hann frames (``0.5 (1 - cos(2 pi n / (N + 1)))``, n = 1..N) with a hop of
a quarter frame, ``floor((T - N) / hop)`` frames, both signals offset by machine epsilon as the
scripts do. LLR and WSS average the lowest 95 % of frame values (MATLAB rounding of the count).

Only 8 and 16 kHz are accepted: the critical bands of WSS stop near 4 kHz and the LPC order
changes with the rate, so a silent resample would change the numbers. Resample explicitly.

References:
    Y. Hu and P. C. Loizou, "Evaluation of objective quality measures for speech enhancement",
    IEEE Trans. Audio, Speech, Lang. Process. 16(1), 229-238, 2008.
    D. H. Klatt, "Prediction of perceived phonetic distance from critical-band spectra",
    Proc. ICASSP 1982, 1278-1281.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from auralab.errors import AudioError
from auralab.metrics._inputs import as_signal_pair, require_rate

RATES = (8000, 16000)
EPS = np.finfo(np.float64).eps
SSNR_RANGE_DB = (-10.0, 35.0)
LLR_MAX = 2.0  # comp_llr.m limits each frame to [0, 2]; composite.m does not
KEEP_FRACTION = 0.95  # LLR and WSS drop the worst 5 % of frames

# Klatt's 25 critical bands (centre, bandwidth) in Hz, as tabulated in comp_wss.m.
_BAND_CENTRE_HZ = np.array([
    50.0, 120.0, 190.0, 260.0, 330.0, 400.0, 470.0, 540.0, 617.372, 703.378, 798.717, 904.128,
    1020.38, 1148.30, 1288.72, 1442.54, 1610.70, 1794.16, 1993.93, 2211.08, 2446.71, 2701.97,
    2978.04, 3276.17, 3597.63,
])  # fmt: skip
_BAND_WIDTH_HZ = np.array([
    70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 77.3724, 86.0056, 95.3398, 105.411, 116.256,
    127.914, 140.423, 153.823, 168.154, 183.457, 199.776, 217.153, 235.631, 255.255, 276.072,
    298.126, 321.465, 346.136,
])  # fmt: skip
_WSS_KMAX = 20.0  # Klatt 1982, p. 1280: weight of distance from the global spectral maximum
_WSS_KLOCMAX = 1.0  # ... and from the nearest local peak
_WSS_FLOOR = 1e-10  # band energies are floored at -100 dB before the log


def ssnr(preds, target, sr: int) -> float:
    """Segmental SNR (Hu & Loizou 2008; ``comp_snr.m``).

    Args:
        preds: ``(T,)`` processed or noisy waveform at ``sr`` Hz (numpy array or torch tensor).
        target: ``(T,)`` clean reference waveform at ``sr`` Hz.
        sr: sample rate in Hz, 8000 or 16000.

    Returns:
        Mean over 30 ms frames of the per-frame SNR in dB, each frame clipped to [-10, 35] dB.
        ``ssnr(x, x, sr)`` is exactly 35.0.

    Raises:
        ValueError: (``AudioError``) unsupported rate, mismatched, empty, non-finite, non-1-D or
            too short (< 37.5 ms) input.
    """
    p, t = _prepare(preds, target, sr, "ssnr")
    return _ssnr(p, t, sr)


def llr(preds, target, sr: int) -> float:
    """Log-likelihood ratio of LPC models (Quackenbush et al. 1988; ``comp_llr.m``).

    LPC order 16 at 16 kHz and 10 at 8 kHz, as in ``comp_llr.m``; the processed model is scored
    against the clean autocorrelation. Each frame is limited to at most 2, then the lowest 95 %
    of frames are averaged.

    Args:
        preds: ``(T,)`` processed or noisy waveform at ``sr`` Hz.
        target: ``(T,)`` clean reference waveform at ``sr`` Hz.
        sr: sample rate in Hz, 8000 or 16000.

    Returns:
        LLR, dimensionless, in [0, 2]; 0 for identical signals, larger is worse.

    Raises:
        ValueError: (``AudioError``) as for :func:`ssnr`.
    """
    p, t = _prepare(preds, target, sr, "llr")
    return _trimmed_mean(np.minimum(_llr_frames(p, t, sr), LLR_MAX))


def wss(preds, target, sr: int) -> float:
    """Weighted spectral slope distance (Klatt 1982; ``comp_wss.m``).

    25 Gaussian critical-band filters (50 Hz to about 3.9 kHz) on the 2x-zero-padded power
    spectrum; squared slope differences weighted by closeness to the global maximum
    (``Kmax = 20``) and to the nearest local peak (``Klocmax = 1``), normalised by the weight sum;
    mean of the lowest 95 % of frames.

    Args:
        preds: ``(T,)`` processed or noisy waveform at ``sr`` Hz.
        target: ``(T,)`` clean reference waveform at ``sr`` Hz.
        sr: sample rate in Hz, 8000 or 16000.

    Returns:
        WSS distance in dB^2 (about 0 to 150 on speech); 0 for identical signals, larger is worse.

    Raises:
        ValueError: (``AudioError``) as for :func:`ssnr`.
    """
    p, t = _prepare(preds, target, sr, "wss")
    return _trimmed_mean(_wss_frames(p, t, sr))


def composite(preds, target, sr: int, *, pesq_score: float | None = None) -> dict[str, float]:
    """CSIG, CBAK and COVL (Hu & Loizou 2008), predicted 1-5 ratings of signal distortion,
    background intrusiveness and overall quality.

    PESQ convention: as in the speech-enhancement literature's evaluation scripts (CMGAN,
    MetricGAN+, DPT-FSNet) rather than ``composite.m`` itself (which used raw narrow-band P.862),
    PESQ is wide-band P.862.2 MOS-LQO (``pesq.pesq(sr, target, preds, "wb")``) at 16 kHz and
    narrow-band P.862.1 MOS-LQO at 8 kHz. Scores are comparable with published VoiceBank-DEMAND
    tables, not with numbers from the original MATLAB script. As in ``composite.m``, the LLR fed
    to the regressions is not limited to 2 per frame (unlike :func:`llr`).

    Args:
        preds: ``(T,)`` processed or noisy waveform at ``sr`` Hz.
        target: ``(T,)`` clean reference waveform at ``sr`` Hz.
        sr: sample rate in Hz, 8000 or 16000.
        pesq_score: PESQ already computed with the convention above; skips recomputing it.

    Returns:
        ``{"csig": float, "cbak": float, "covl": float}``, each clipped to [1, 5]. All NaN when
        PESQ has no score (NaN ``pesq_score``, or silent input: see
        :func:`auralab.metrics.speech.pesq`), so one silent file does not stop an evaluation.

    Raises:
        ValueError: (``AudioError``) as for :func:`ssnr`.
    """
    p, t = _prepare(preds, target, sr, "composite")
    q = _pesq(p, t, sr) if pesq_score is None else float(pesq_score)
    llr_c = _trimmed_mean(_llr_frames(p, t, sr))
    wss_c = _trimmed_mean(_wss_frames(p, t, sr))
    seg = _ssnr(p, t, sr)
    # Hu & Loizou (2008) regressions on listener ratings, clipped to the 1-5 rating scale
    scores = {
        "csig": 3.093 - 1.029 * llr_c + 0.603 * q - 0.009 * wss_c,
        "cbak": 1.634 + 0.478 * q - 0.007 * wss_c + 0.063 * seg,
        "covl": 1.594 + 0.805 * q - 0.512 * llr_c - 0.007 * wss_c,
    }
    return {name: float(np.clip(value, 1.0, 5.0)) for name, value in scores.items()}


def _prepare(preds, target, sr: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate the pair and return it as ``(T,)`` float64 arrays."""
    require_rate(sr, RATES, name)
    p, t = as_signal_pair(preds, target, name)
    window, hop = _frame_geometry(sr)
    if p.size < window + hop:  # the scripts analyse floor((T - N) / hop) frames: need one
        raise AudioError(
            f"{name}: preds and target have {p.size} samples, need at least {window + hop} "
            f"({1000 * (window + hop) / sr:g} ms at {sr} Hz); pass a longer excerpt"
        )
    return p, t


def _frame_geometry(sr: int) -> tuple[int, int]:
    """30 ms frame length and quarter-frame hop, in samples."""
    window = round(0.030 * sr)
    return window, window // 4


def _frames(x: np.ndarray, sr: int) -> np.ndarray:
    """Hann-windowed analysis frames ``(F, N)`` exactly as the MATLAB loops cut them."""
    window, hop = _frame_geometry(sr)
    n_frames = (x.size - window) // hop
    hann = 0.5 * (1.0 - np.cos(2.0 * np.pi * np.arange(1, window + 1) / (window + 1)))
    # + eps as Loizou's scripts do, so digital silence never gives log(0) or an all-zero LPC frame
    return sliding_window_view(x + EPS, window)[::hop][:n_frames] * hann


def _trimmed_mean(values: np.ndarray) -> float:
    """Mean of the lowest 95 % of ``values``, keeping ``round(0.95 F)`` with MATLAB's rounding
    (half away from zero; Python's ``round`` would round half to even)."""
    keep = max(1, int(math.floor(values.size * KEEP_FRACTION + 0.5)))
    return float(np.mean(np.sort(values)[:keep]))


def _ssnr(p: np.ndarray, t: np.ndarray, sr: int) -> float:
    clean = _frames(t, sr)
    signal = np.sum(clean**2, axis=1)
    noise = np.sum((clean - _frames(p, sr)) ** 2, axis=1)
    snr_db = 10.0 * np.log10(signal / (noise + EPS) + EPS)  # eps: identical frames give +clip
    return float(np.mean(np.clip(snr_db, *SSNR_RANGE_DB)))


def _llr_frames(p: np.ndarray, t: np.ndarray, sr: int) -> np.ndarray:
    """Per-frame ``log(a_p' R_c a_p / a_c' R_c a_c)``, unlimited, shape ``(F,)``."""
    order = 10 if sr < 10000 else 16
    r_clean = _autocorrelation(_frames(t, sr), order)  # (F, P+1)
    a_clean = _levinson(r_clean)  # (F, P+1)
    a_proc = _levinson(_autocorrelation(_frames(p, sr), order))
    lags = np.abs(np.subtract.outer(np.arange(order + 1), np.arange(order + 1)))
    toeplitz = r_clean[:, lags]  # (F, P+1, P+1)
    numerator = np.einsum("fi,fij,fj->f", a_proc, toeplitz, a_proc)
    denominator = np.einsum("fi,fij,fj->f", a_clean, toeplitz, a_clean)
    return np.log(numerator / denominator)


def _autocorrelation(frames: np.ndarray, order: int) -> np.ndarray:
    """Biased autocorrelation lags 0..order of each frame: ``(F, N)`` -> ``(F, order + 1)``."""
    n = frames.shape[1]
    lags = [np.sum(frames[:, : n - k] * frames[:, k:], axis=1) for k in range(order + 1)]
    return np.stack(lags, axis=1)


def _levinson(r: np.ndarray) -> np.ndarray:
    """Levinson-Durbin recursion on every frame at once: lags ``(F, P+1)`` -> inverse-filter
    coefficients ``[1, -a_1, ..., -a_P]`` of shape ``(F, P+1)``."""
    order = r.shape[1] - 1
    a = np.zeros((r.shape[0], order))
    error = r[:, 0].copy()
    for i in range(order):
        previous = a[:, :i].copy()
        k = (r[:, i + 1] - np.sum(previous * r[:, i:0:-1], axis=1)) / error
        a[:, i] = k
        a[:, :i] = previous - k[:, None] * previous[:, ::-1]
        error = (1.0 - k * k) * error
    return np.concatenate([np.ones((r.shape[0], 1)), -a], axis=1)


def _wss_frames(p: np.ndarray, t: np.ndarray, sr: int) -> np.ndarray:
    """Per-frame weighted spectral slope distance, shape ``(F,)``."""
    filters = _critical_band_filters(sr)  # (25, n_fft / 2)
    clean_db = _band_energy_db(_frames(t, sr), filters)  # (F, 25)
    proc_db = _band_energy_db(_frames(p, sr), filters)
    weight = 0.5 * (_slope_weights(clean_db) + _slope_weights(proc_db))  # (F, 24)
    slope_error = np.diff(clean_db, axis=1) - np.diff(proc_db, axis=1)
    return np.sum(weight * slope_error**2, axis=1) / np.sum(weight, axis=1)


def _critical_band_filters(sr: int) -> np.ndarray:
    """Gaussian critical-band weights over FFT bins ``(25, n_fft / 2)``, equal-area up to the
    bandwidth ratio, with taps below -30 dB zeroed (as in ``comp_wss.m``)."""
    half = _wss_fft_size(sr) // 2
    bins = (_BAND_CENTRE_HZ / (sr / 2) * half)[:, None]
    widths = (_BAND_WIDTH_HZ / (sr / 2) * half)[:, None]
    gain = np.log(_BAND_WIDTH_HZ[0]) - np.log(_BAND_WIDTH_HZ)[:, None]
    filters = np.exp(-11.0 * ((np.arange(half) - np.floor(bins)) / widths) ** 2 + gain)
    min_factor = math.exp(-30.0 / (2.0 * 2.303))  # the script's -30 dB point
    return np.where(filters > min_factor, filters, 0.0)


def _wss_fft_size(sr: int) -> int:
    """Next power of two of twice the frame length (MATLAB ``2^nextpow2(2 N)``)."""
    window, _ = _frame_geometry(sr)
    return 1 << (2 * window - 1).bit_length()


def _band_energy_db(frames: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Critical-band energies in dB: frames ``(F, N)`` -> ``(F, 25)``."""
    n_fft = 2 * filters.shape[1]
    power = np.abs(np.fft.rfft(frames, n_fft, axis=1)[:, : n_fft // 2]) ** 2  # (F, n_fft/2)
    return 10.0 * np.log10(np.maximum(power @ filters.T, _WSS_FLOOR))


def _slope_weights(energy_db: np.ndarray) -> np.ndarray:
    """Klatt's weight per band slope ``(F, 24)``: near the frame maximum and near a local peak
    weigh most, so differences in spectral valleys count little."""
    global_max = np.max(energy_db, axis=1, keepdims=True)
    lower = energy_db[:, :-1]
    w_max = _WSS_KMAX / (_WSS_KMAX + global_max - lower)
    w_local = _WSS_KLOCMAX / (_WSS_KLOCMAX + _nearest_peak_db(energy_db) - lower)
    return w_max * w_local


def _nearest_peak_db(energy_db: np.ndarray) -> np.ndarray:
    """Energy of the nearest spectral peak for each slope ``(F, 24)``, searching right on a
    rising slope and left on a falling one, reproducing the band indices ``comp_wss.m`` picks
    (on a rising slope it takes the band just below the peak)."""
    slope = np.diff(energy_db, axis=1)  # (F, 24)
    n_slopes = slope.shape[1]
    idx = np.broadcast_to(np.arange(n_slopes), slope.shape)
    rising = slope > 0
    # first non-rising slope at or after i (n_slopes if none), by a reversed running minimum
    stop_right = np.where(rising, n_slopes, idx)[:, ::-1]
    stop_right = np.minimum.accumulate(stop_right, axis=1)[:, ::-1]
    # last rising slope at or before i (-1 if none), by a running maximum
    stop_left = np.maximum.accumulate(np.where(rising, idx, -1), axis=1)
    band = np.where(rising, stop_right - 1, stop_left + 1)
    return np.take_along_axis(energy_db, band, axis=1)


def _pesq(p: np.ndarray, t: np.ndarray, sr: int) -> float:
    """PESQ with the community convention: wide-band at 16 kHz, narrow-band at 8 kHz."""
    from auralab.metrics.speech import pesq  # deferred: pulls in the PESQ C extension

    return pesq(p, t, sr, mode="wb" if sr == 16000 else "nb")
