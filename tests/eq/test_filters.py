"""RBJ biquads: torch response vs the analogue prototype, vs scipy, vs the filtered impulse."""

import math

import numpy as np
import pytest
import torch
from scipy import signal

from auralab.eq.filters import apply_eq, log_frequency_grid, magnitude_db, sos

FLAT = [0, 100, 0, 500, 1, 0, 1000, 1, 0, 3000, 1, 0, 8000]


def _setting(**bands) -> torch.Tensor:
    p = torch.tensor(FLAT, dtype=torch.float64)
    for index, value in bands.items():
        p[int(index[1:])] = value
    return p


def _analog_db(kind: str, gain: float, f0: float, q: float, f: np.ndarray, sr: float):
    # The cookbook's s-domain prototypes, at the frequency the bilinear transform maps f to:
    # the digital response equals the analogue one there, exactly.
    a = 10 ** (gain / 40)
    s = 1j * np.tan(np.pi * f / sr) / np.tan(np.pi * f0 / sr)
    if kind == "peaking":
        h = (s**2 + s * a / q + 1) / (s**2 + s / (a * q) + 1)
    elif kind == "low_shelf":
        h = a * (s**2 + np.sqrt(a) / q * s + a) / (a * s**2 + np.sqrt(a) / q * s + 1)
    else:
        h = a * (a * s**2 + np.sqrt(a) / q * s + 1) / (s**2 + np.sqrt(a) / q * s + a)
    return 20 * np.log10(np.abs(h))


@pytest.mark.parametrize("sr", [16000, 44100, 48000])
@pytest.mark.parametrize(
    "kind,index,gain,f0,q",
    [
        ("low_shelf", 0, 9.0, 150.0, 1 / math.sqrt(2)),
        ("peaking", 2, -7.5, 400.0, 4.0),
        ("peaking", 5, 12.0, 1200.0, 0.1),
        ("peaking", 8, 6.0, 3500.0, 10.0),
        ("high_shelf", 11, -10.0, 6000.0, 1 / math.sqrt(2)),
    ],
)
def test_each_band_matches_its_analog_prototype(sr, kind, index, gain, f0, q):
    bands = {f"p{index}": gain, f"p{index + 1}": f0}
    if kind == "peaking":
        bands[f"p{index + 2}"] = q
    f = log_frequency_grid(200, 20, 0.45 * sr)
    ours = magnitude_db(_setting(**bands), f, sr).numpy()
    assert np.allclose(ours, _analog_db(kind, gain, f0, q, f.numpy(), sr), atol=1e-6)


def test_analytic_landmarks():
    f = torch.tensor([1e-3, 150.0, 1000.0, 20000.0], dtype=torch.float64)
    # peaking: the full gain at its centre; shelves: full gain far away, half gain at the corner
    assert magnitude_db(_setting(p5=7.0), f[2:3])[0] == pytest.approx(7.0, abs=1e-9)
    low = magnitude_db(_setting(p0=8.0, p1=150.0), f[:2])
    assert low[0] == pytest.approx(8.0, abs=1e-6) and low[1] == pytest.approx(4.0, abs=1e-9)
    nyquist = torch.tensor([22050.0 - 1e-6, 8000.0], dtype=torch.float64)
    high = magnitude_db(_setting(p11=-6.0), nyquist)
    assert high[0] == pytest.approx(-6.0, abs=1e-6) and high[1] == pytest.approx(-3.0, abs=1e-9)
    assert torch.allclose(magnitude_db(_setting(), f), torch.zeros(4, dtype=torch.float64))


def _random_settings(n: int, seed: int) -> torch.Tensor:
    from auralab.eq.normalise import denormalise

    return denormalise(torch.rand(n, 13, generator=torch.Generator().manual_seed(seed)).double())


@pytest.mark.parametrize("sr", [22050, 44100, 96000])
def test_torch_response_matches_scipy_sosfreqz(sr):
    f = log_frequency_grid(128, 20, min(20000, 0.45 * sr))
    for p in _random_settings(20, sr):
        _, h = signal.sosfreqz(sos(p, sr), worN=f.numpy(), fs=sr)
        assert np.allclose(magnitude_db(p, f, sr).numpy(), 20 * np.log10(np.abs(h)), atol=1e-7)


def test_torch_response_matches_the_sosfilt_impulse_response():
    sr = 44100
    f = log_frequency_grid(64, 40, 18000).numpy()
    impulse = np.zeros(2**16)
    impulse[0] = 1.0
    n = np.arange(impulse.size)
    dtft = np.exp(-2j * np.pi * np.outer(f, n) / sr)  # (F, T)
    for p in _random_settings(6, 7):
        p[[4, 7, 10]] = p[[4, 7, 10]].clamp(max=3.0)  # impulse responses that die out in 1.5 s
        h = apply_eq(impulse, sr, p).astype(np.float64)
        measured = 20 * np.log10(np.abs(dtft @ h))
        assert np.allclose(measured, magnitude_db(p, torch.from_numpy(f), sr).numpy(), atol=1e-3)


def test_response_is_differentiable_in_every_parameter():
    p = _setting(p0=3.0, p2=-4.0, p5=5.0, p8=2.0, p11=6.0).requires_grad_()
    magnitude_db(p, log_frequency_grid(64)).square().sum().backward()
    assert torch.isfinite(p.grad).all() and (p.grad.abs() > 0).all()


def test_apply_keeps_shape_and_type():
    wav = torch.randn(2, 1000)
    out = apply_eq(wav, 16000, _setting(p11=6.0, p12=20000.0))  # 20 kHz designed at 0.49 fs
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1000) and out.dtype == torch.float32
    assert apply_eq(wav[0].numpy(), 16000, _setting()).shape == (1000,)
    assert np.allclose(apply_eq(wav.numpy(), 8000, _setting()), wav.numpy(), atol=1e-6)
