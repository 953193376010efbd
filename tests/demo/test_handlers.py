"""The demo's tabs as plain functions: outputs against the library's own references, and bad
uploads refused with one line naming the file and the limit."""

import numpy as np
import pytest
import soundfile as sf

from auralab.audio import load
from auralab.config import load_config
from auralab.demo import handlers
from auralab.demo.config import DemoConfig
from auralab.enhance.evaluate import example_dirs, score_pair
from auralab.eq.generate import example_music_path, generate
from auralab.errors import AudioError, ConfigError, DataError

NOISY, CLEAN = (d / "p232_007.wav" for d in example_dirs())


@pytest.fixture(scope="module")
def cfg():
    return DemoConfig()


@pytest.fixture(scope="module")
def enhanced(cfg, tmp_path_factory, one_thread):
    return handlers.enhance(NOISY, "tiny", cfg, tmp_path_factory.mktemp("enh"), clean=CLEAN)


def test_enhance_scores_enhanced_beside_the_unprocessed_noisy(enhanced):
    # The table must hold what `auralab evaluate` computes on the same files.
    rows = {r["system"]: r for r in score_pair(str(NOISY), str(CLEAN), str(enhanced.audio))}
    table = {r["metric"]: r for r in enhanced.metrics}
    for key, label in (("pesq_wb", "PESQ-wb"), ("stoi", "STOI"), ("si_sdr", "SI-SDR (dB)")):
        assert table[label]["noisy"] == pytest.approx(rows["noisy"][key], abs=1e-9)
        assert table[label]["enhanced"] == pytest.approx(rows["enhanced"][key], abs=1e-9)
        assert table[label]["delta"] == pytest.approx(rows["enhanced"][key] - rows["noisy"][key])
    assert table["PESQ-wb"]["enhanced"] > table["PESQ-wb"]["noisy"]
    assert enhanced.spectrograms.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_enhanced_audio_keeps_rate_and_length(enhanced):
    x, sr = load(NOISY)
    y, sr_out = load(enhanced.audio)
    assert sr_out == sr and y.shape == x.shape


def test_enhance_refuses_a_clean_file_of_another_utterance(cfg, tmp_path):
    with pytest.raises(DataError, match=r"p232_010.wav does not pair with p232_007.wav: length"):
        handlers.enhance(NOISY, "tiny", cfg, tmp_path, clean=example_dirs()[1] / "p232_010.wav")


def test_enhance_refuses_a_shifted_clean_reference(cfg, tmp_path):
    ref, sr = load(CLEAN)
    shifted = tmp_path / "shifted.wav"
    sf.write(shifted, np.concatenate([np.zeros(160), ref.numpy()[:-160]]), sr, "FLOAT")
    with pytest.raises(DataError, match=r"time lag of 10.0 ms \(160 samples\)"):
        handlers.enhance(NOISY, "tiny", cfg, tmp_path / "out", clean=shifted)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: None, "no noisy audio given"),
        (lambda d: _write(d / "notes.txt", b"hello"), r"must be one of \.wav"),
        (lambda d: _write(d / "broken.wav", b"RIFF0000WAVEjunk"), "broken.wav: cannot be read"),
        (lambda d: _tone(d / "long.wav", 3.0), r"3.00 s is outside .* max_duration_s"),
        (lambda d: _tone(d / "short.wav", 0.05), r"0.05 s is outside"),
    ],
)
def test_bad_uploads_get_one_line(tmp_path, make, message):
    cfg = DemoConfig(max_duration_s=2.0)
    with pytest.raises(AudioError, match=message) as e:
        handlers.enhance(make(tmp_path), "tiny", cfg, tmp_path / "out")
    assert "\n" not in str(e.value)


def test_upload_size_limit(tmp_path):
    path = _tone(tmp_path / "big.wav", 1.0)
    with pytest.raises(AudioError, match=r"over the demo's 0.01 MiB limit \(max_upload_mb\)"):
        handlers.check_upload(path, DemoConfig(max_upload_mb=0.01))


def test_unknown_enhancement_model_is_refused(cfg, tmp_path):
    with pytest.raises(ConfigError, match="model 'crn' is not offered"):
        handlers.enhance(NOISY, "crn", cfg, tmp_path)


def test_classify_gives_top5_best_first_and_a_figure(cfg, tmp_path, one_thread):
    r = handlers.classify(NOISY, cfg, tmp_path)
    probs = [p for _, p in r.top]
    assert len(r.top) == 5 and probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1 + 1e-6 and len({label for label, _ in r.top}) == 5
    assert r.figure.read_bytes()[:4] == b"\x89PNG"


def test_eq_ends_of_the_path_are_the_terms_own_settings(cfg, tmp_path):
    model = handlers._eq_model(cfg.eq_model)
    for position, term in ((0.0, "warm"), (1.0, "bright")):
        r = handlers.equalise("warm", cfg, tmp_path, 0.7, "bright", position)
        expected = generate(model, term, 0.7).tolist()
        # Same model, another batch size: float32 matmuls may differ in the last bits.
        assert [v for _, v, _ in r.setting] == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_eq_equalises_the_bundled_music_keeping_channels(cfg, tmp_path):
    r = handlers.equalise("bright", cfg, tmp_path)
    x, sr = load(example_music_path(), mono=False)
    y, sr_out = load(r.audio, mono=False)
    assert sr_out == sr and y.shape == x.shape and "loudness matched" in r.note
    assert r.response.read_bytes()[:4] == b"\x89PNG"


def test_eq_unknown_word_lists_close_terms(cfg, tmp_path):
    with pytest.raises(ConfigError, match="close matches: warm"):
        handlers.equalise("wram", cfg, tmp_path)


@pytest.mark.parametrize(
    "override, key",
    [("port=70000", "port"), ("max_duration_s=0", "max_duration_s"), ("enhance_models=[]", "")],
)
def test_demo_config_refuses_bad_values(override, key):
    with pytest.raises(ConfigError, match=f"config key {key}"):
        load_config(DemoConfig, None, [override])


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _tone(path, seconds: float, sr: int = 16000):
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.1 * np.sin(2 * np.pi * 440 * t), sr, "FLOAT")
    return path
