import numpy as np
import pytest

from auralab.audio import load
from auralab.errors import AudioError
from auralab.metrics import estoi, pesq, si_sdr, snr, stoi
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def pesq_ref():
    root = shared_data("pairs", "pesq-ref")
    clean, _ = load(root / "speech.wav")
    noisy, _ = load(root / "speech_bab_0dB.wav")
    return noisy.numpy(), clean.numpy()


def test_pesq_matches_package_reference_values(pesq_ref):
    noisy, clean = pesq_ref
    assert pesq(noisy, clean, 16000, "wb") == pytest.approx(1.0832337141036987, abs=1e-6)
    assert pesq(noisy, clean, 16000, "nb") == pytest.approx(1.6072081327438354, abs=1e-6)


def test_noisy_baseline_means_match_published_peer_table(vbd_test10):
    # ../shared/PEERS.md measured the unprocessed input on these 10 pairs with pesq/pystoi.
    scores = {"pesq": [], "stoi": [], "estoi": [], "si_sdr": []}
    for path in sorted((vbd_test10 / "noisy").glob("*.wav")):
        n, sr = load(path)
        c, _ = load(vbd_test10 / "clean" / path.name)
        scores["pesq"].append(pesq(n, c, sr))
        scores["stoi"].append(stoi(n, c, sr))
        scores["estoi"].append(estoi(n, c, sr))
        scores["si_sdr"].append(si_sdr(n, c, sr))
    assert np.mean(scores["pesq"]) == pytest.approx(2.160, abs=0.0006)
    assert np.mean(scores["stoi"]) == pytest.approx(0.930, abs=0.0006)
    assert np.mean(scores["estoi"]) == pytest.approx(0.822, abs=0.0006)
    assert np.mean(scores["si_sdr"]) == pytest.approx(10.04, abs=0.006)


def test_pesq_silent_input_is_nan_with_warning(pesq_ref):
    _, clean = pesq_ref
    with pytest.warns(UserWarning, match="preds is silent"):
        assert np.isnan(pesq(np.zeros_like(clean), clean, 16000))


@pytest.mark.parametrize("sr, mode", [(48000, "wb"), (8000, "wb"), (44100, "nb")])
def test_pesq_refuses_unsupported_rates(sr, mode):
    x = np.random.default_rng(0).standard_normal(sr)
    with pytest.raises(AudioError, match=rf"pesq-{mode}: needs .* Hz audio, got {sr} Hz; resample"):
        pesq(x, x, sr, mode)


def test_si_sdr_definition():
    rng = np.random.default_rng(1)
    t = rng.standard_normal(16000)
    e = rng.standard_normal(16000)
    e -= e @ t / (t @ t) * t  # noise orthogonal to the target: SI-SDR is then the plain ratio
    p = t + 0.1 * e
    expected = 10 * np.log10(
        (t - t.mean()) @ (t - t.mean()) / (0.01 * (e - e.mean()) @ (e - e.mean()))
    )
    assert si_sdr(p, t) == pytest.approx(expected, abs=0.05)
    assert si_sdr(3.7 * p, t) == pytest.approx(si_sdr(p, t), abs=1e-9)  # scale-invariant
    assert si_sdr(p + 0.5, t) == pytest.approx(si_sdr(p, t), abs=1e-9)  # zero-mean
    assert snr(p, t) == pytest.approx(10 * np.log10(t @ t / ((0.1 * e) @ (0.1 * e))), abs=1e-9)


def test_stoi_identity_and_degradation(pesq_ref):
    noisy, clean = pesq_ref
    assert stoi(clean, clean, 16000) == pytest.approx(1.0, abs=1e-6)
    assert stoi(noisy, clean, 16000) < 0.9


@pytest.mark.parametrize(
    "preds, target, message",
    [
        (np.zeros(10), np.zeros(11), r"si_sdr: preds has 10 samples, target has 11; align"),
        (np.zeros(0), np.zeros(0), r"si_sdr: preds is empty"),
        (np.array([0.0, np.nan]), np.zeros(2), r"si_sdr: preds contains NaN"),
        (np.zeros((2, 5)), np.zeros((2, 5)), r"si_sdr: preds has shape \(2, 5\); pass one mono"),
    ],
)
def test_bad_inputs_have_one_line_errors(preds, target, message):
    with pytest.raises(AudioError, match=message):
        si_sdr(preds, target)
