import numpy as np
import pytest
import soundfile as sf
import torch

from auralab.audio import info, load, save
from auralab.errors import AudioError
from auralab.metrics import si_sdr
from tests.conftest import shared_data


def test_load_real_wav_is_float32_mono(vbd_test10):
    wav, sr = load(vbd_test10 / "clean" / "p232_001.wav")
    assert sr == 16000
    assert wav.dtype == torch.float32 and wav.ndim == 1
    ref, _ = sf.read(vbd_test10 / "clean" / "p232_001.wav", dtype="float32")
    assert torch.equal(wav, torch.from_numpy(ref))


def test_ogg_and_flac_decode():
    ogg = sorted(shared_data("esc10", "audio").glob("*.ogg"))[0]
    wav, sr = load(ogg)
    assert sr == 44100 and wav.numel() == info(ogg).frames
    flac = shared_data("pairs", "dfn-48k", "clean", "freesound_33711.flac")
    wav, sr = load(flac)
    assert sr == 48000 and abs(wav.numel() / sr - 10.6) < 0.2


def test_resample_only_when_asked(vbd_test10):
    path = vbd_test10 / "noisy_24k" / "p232_001.wav"
    with pytest.raises(AudioError, match=r"p232_001.wav: sample rate is 24000 Hz, expected 16000"):
        load(path, sr=16000, resample_ok=False)
    wav, sr = load(path, sr=16000)
    ref, _ = load(vbd_test10 / "noisy" / "p232_001.wav")
    assert sr == 16000 and abs(wav.numel() - ref.numel()) <= 1
    n = min(wav.numel(), ref.numel())
    # The shared 16 kHz file is another resampler's output of the same original.
    assert si_sdr(wav[:n], ref[:n]) > 30


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match=r"nope.wav: no such file; check the path"):
        load(tmp_path / "nope.wav")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(AudioError, match=r"bad.wav: cannot be decoded .*re-export it"):
        load(bad)
    with pytest.raises(AudioError, match=r"bad.wav: cannot be read as audio"):
        info(bad)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty.wav: contains no samples"):
        load(path)


def test_nan_samples(tmp_path):
    x = np.zeros(16000, dtype=np.float32)
    x[8000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(
        AudioError, match=r"nan.wav: contains 1 NaN or infinite samples \(first at 0.500 s\)"
    ):
        load(path)


def test_stereo_strict_mono_downmix_and_keep(tmp_path):
    x = np.stack([np.full(100, 0.5), np.full(100, -0.1)], axis=1).astype(np.float32)
    path = tmp_path / "st.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"st.wav: has 2 channels where mono is required"):
        load(path, mono="strict")
    mono, _ = load(path)
    assert torch.allclose(mono, torch.full((100,), 0.2))
    both, _ = load(path, mono=False)
    assert both.shape == (2, 100)


def test_save_round_trip_is_atomic(tmp_path):
    x = torch.linspace(-1, 1, 4000)
    out = save(tmp_path / "sub" / "x.wav", x, 16000)
    y, sr = load(out)
    assert sr == 16000 and torch.equal(x, y)  # FLOAT wav is lossless for float32
    assert [p.name for p in out.parent.iterdir()] == ["x.wav"]  # no temp file left behind


def test_save_refuses_clipping_in_integer_formats(tmp_path):
    with pytest.raises(AudioError, match=r"y.flac: peak 1.500 exceeds 1.0 and PCM_16 would clip"):
        save(tmp_path / "y.flac", torch.tensor([0.0, 1.5]), 16000)
    assert not list(tmp_path.iterdir())


def test_save_refuses_nan(tmp_path):
    with pytest.raises(AudioError, match=r"z.wav: contains 1 NaN"):
        save(tmp_path / "z.wav", torch.tensor([0.0, float("nan")]), 16000)
