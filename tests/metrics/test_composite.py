"""Segmental SNR, LLR, WSS and CSIG/CBAK/COVL against independent reference values.

The reference values in ``tests/data/reference-metrics.json`` come from pysepm-evo (a port of
Loizou's MATLAB scripts) and the ``pesq`` package, made by ``tests/data/make_reference_metrics.py``
in a separate environment; that script documents the conventions and tolerances.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from auralab.metrics.composite import _trimmed_mean, composite, llr, ssnr, wss
from tests.conftest import shared_data

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((REPO / "tests" / "data" / "reference-metrics.json").read_text())
TOL = REFERENCE["tolerances"]
METRICS = {"ssnr": ssnr, "llr": llr, "wss": wss}


def _read(path: Path) -> np.ndarray:
    audio, sr = sf.read(path, dtype="float64")
    assert sr == 16000, path
    return audio


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every reference pair, ``key -> (degraded, clean)`` at 16 kHz, read once per module."""
    root = shared_data("pairs")
    out = {}
    for key in REFERENCE["pairs"]:
        if key.startswith("vbd-test10/"):
            name = key.split("/", 1)[1]
            files = (f"vbd-test10/noisy/{name}", f"vbd-test10/clean/{name}")
        else:  # pesq-ref: the babble file against its clean speech
            files = (key, "pesq-ref/speech.wav")
        out[key] = tuple(_read(root / f) for f in files)
    return out


def _deviations(expected: dict, got: dict, key: str) -> list[str]:
    return [
        f"{key} {name}: got {value:.6f}, reference {expected[name]:.6f} (tol {TOL[name]})"
        for name, value in got.items()
        if not abs(value - expected[name]) <= TOL[name]
    ]


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_matches_reference_on_every_pair(pairs, name):
    bad = []
    for key, (degraded, clean) in pairs.items():
        got = {name: METRICS[name](degraded, clean, 16000)}
        bad += _deviations(REFERENCE["pairs"][key], got, key)
    assert not bad, "\n".join(bad)


def test_composite_matches_reference_on_every_pair(pairs):
    bad = []
    for key, (degraded, clean) in pairs.items():
        got = composite(degraded, clean, 16000)  # computes PESQ-wb itself
        assert set(got) == {"csig", "cbak", "covl"}
        bad += _deviations(REFERENCE["pairs"][key], got, key)
    assert not bad, "\n".join(bad)


def test_composite_reuses_a_given_pesq_score(pairs):
    degraded, clean = pairs["pesq-ref/speech_bab_0dB.wav"]
    expected = REFERENCE["pairs"]["pesq-ref/speech_bab_0dB.wav"]
    got = composite(degraded, clean, 16000, pesq_score=expected["pesq_wb"])
    assert not _deviations(expected, got, "pesq-ref")
    # a different PESQ must move the scores: the given value is really used
    assert composite(degraded, clean, 16000, pesq_score=3.0)["csig"] > got["csig"] + 0.5


def test_8khz_path_matches_reference(pairs):
    """LPC order 10, 512-point FFT and narrow-band PESQ at 8 kHz, on the derived 8 kHz pair."""
    key = "vbd-test10/p232_001.wav"
    degraded, clean = (scipy.signal.resample_poly(x, 1, 2) for x in pairs[key])
    got = {name: fn(degraded, clean, 8000) for name, fn in METRICS.items()}
    got.update(composite(degraded, clean, 8000))
    bad = _deviations(REFERENCE["derived"][key + "@8k"], got, key + "@8k")
    assert not bad, "\n".join(bad)


def test_identical_signals_score_perfectly(pairs):
    clean = pairs["vbd-test10/p232_001.wav"][1]
    assert ssnr(clean, clean, 16000) == 35.0  # every frame at the upper clip
    assert abs(llr(clean, clean, 16000)) < 1e-9
    assert abs(wss(clean, clean, 16000)) < 1e-9


def test_more_noise_scores_worse(pairs):
    clean = pairs["vbd-test10/p232_001.wav"][1]
    noise = np.random.default_rng(0).standard_normal(clean.size)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2))  # 0 dB
    seg, sig = [], []
    for snr_db in (40, 30, 20):  # white noise takes CSIG to its floor of 1 below ~20 dB
        noisy = clean + noise * 10 ** (-snr_db / 20)
        seg.append(ssnr(noisy, clean, 16000))
        sig.append(composite(noisy, clean, 16000)["csig"])
    assert seg[0] > seg[1] > seg[2]
    assert sig[0] > sig[1] > sig[2]


def test_kept_frame_count_rounds_half_away_from_zero():
    # 0.95 * 550 is exactly 522.5: MATLAB keeps 523 frames, Python's round() would keep 522
    assert _trimmed_mean(np.arange(550.0)) == pytest.approx(np.mean(np.arange(523.0)))


def test_torch_tensors_give_the_same_scores():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    clean = rng.standard_normal(4000)
    degraded = clean + 0.3 * rng.standard_normal(4000)
    for fn in METRICS.values():
        as_tensors = fn(torch.from_numpy(degraded).float(), torch.from_numpy(clean).float(), 8000)
        as_arrays = fn(degraded.astype(np.float32), clean.astype(np.float32), 8000)
        assert as_tensors == as_arrays


def test_nan_pesq_score_gives_nan_scores():
    rng = np.random.default_rng(2)
    clean = rng.standard_normal(4000)
    got = composite(clean + 0.1 * rng.standard_normal(4000), clean, 8000, pesq_score=math.nan)
    assert all(math.isnan(v) for v in got.values())


FUNCTIONS = {"ssnr": ssnr, "llr": llr, "wss": wss, "composite": composite}
_X = np.random.default_rng(3).standard_normal(8000)


@pytest.mark.parametrize("fn", FUNCTIONS.values(), ids=FUNCTIONS.keys())
@pytest.mark.parametrize(
    ("preds", "target", "sr", "words"),
    [
        (_X, _X, 48000, ["48000", "8000 or 16000", "resample"]),
        (_X[:-1], _X, 16000, ["7999", "8000", "align"]),
        (np.where(np.arange(8000) == 5, np.nan, _X), _X, 16000, ["NaN"]),
        (np.array([]), np.array([]), 16000, ["empty"]),
        (_X[:500], _X[:500], 16000, ["500 samples", "at least 600"]),
        (np.stack([_X, _X]), np.stack([_X, _X]), 16000, ["1-D"]),
    ],
    ids=["wrong-rate", "length-mismatch", "nan", "empty", "too-short", "two-channels"],
)
def test_bad_input_raises_a_one_line_value_error(fn, preds, target, sr, words):
    with pytest.raises(ValueError) as info:
        fn(preds, target, sr)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
