"""PairedSpeechDataset: pairing, refusals, and crops that keep noisy and clean aligned."""

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import correlate

from auralab.audio import load
from auralab.data import PairedSpeechDataset
from auralab.errors import AuralabError, DataError
from tests.conftest import shared_data

SR = 16000


def _write(path, wav, sr=SR):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(wav, dtype=np.float32), sr, subtype="FLOAT")


def _noise(n, seed=0, scale=0.1):
    return np.random.default_rng(seed).standard_normal(n) * scale


@pytest.fixture
def pair_dirs(tmp_path):
    """Two aligned pairs in plain noisy/ + clean/ folders; returns (noisy_dir, clean_dir)."""
    for i, n in enumerate((20000, 30000)):
        clean = _noise(n, seed=i)
        _write(tmp_path / "clean" / f"f{i}.wav", clean)
        _write(tmp_path / "noisy" / f"f{i}.wav", clean + _noise(n, seed=10 + i, scale=0.01))
    return tmp_path / "noisy", tmp_path / "clean"


def test_pairs_vbd_test10(vbd_test10):
    ds = PairedSpeechDataset(vbd_test10 / "noisy", vbd_test10 / "clean")
    assert len(ds) == 10
    assert ds.pairs == sorted(ds.pairs)
    assert all(n.name == c.name for n, c in ds.pairs)
    assert ds.pairs[0][0] == vbd_test10 / "noisy" / "p232_001.wav"
    assert [ds[i]["name"] for i in (0, -1)] == ["p232_001.wav", "p232_012.wav"]


def test_pairs_voicebank_layout_recursive(tmp_path):
    src = shared_data("pairs", "vbd-test10")
    names = ["p232_001.wav", "p232_002.wav", "sub/p232_003.wav"]
    for name in names:
        for kind in ("noisy", "clean"):
            dst = tmp_path / f"{kind}_testset_wav" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src / kind / dst.name, dst)
    ds = PairedSpeechDataset(tmp_path / "noisy_testset_wav", tmp_path / "clean_testset_wav")
    assert sorted(ds[i]["name"] for i in range(len(ds))) == sorted(names)
    for noisy, clean in ds.pairs:
        assert noisy.relative_to(tmp_path / "noisy_testset_wav") == clean.relative_to(
            tmp_path / "clean_testset_wav"
        )


def test_unpaired_file_is_named(pair_dirs):
    noisy_dir, clean_dir = pair_dirs
    _write(noisy_dir / "lonely.wav", _noise(1000))
    with pytest.raises(DataError, match=r"1 unpaired.*lonely\.wav.*auralab check pairs"):
        PairedSpeechDataset(noisy_dir, clean_dir)


def test_many_unpaired_files_names_three_and_counts(pair_dirs):
    noisy_dir, clean_dir = pair_dirs
    for i in range(5):
        _write(clean_dir / f"extra{i}.wav", _noise(1000))
    with pytest.raises(DataError) as err:
        PairedSpeechDataset(noisy_dir, clean_dir)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("5 unpaired") and "and 2 more" in msg
    assert sum(f"extra{i}.wav" in msg for i in range(5)) == 3


@pytest.mark.parametrize("broken", ["missing", "empty"])
def test_missing_or_empty_folder_refused(pair_dirs, broken):
    noisy_dir, clean_dir = pair_dirs
    if broken == "missing":
        shutil.rmtree(clean_dir)
    else:
        for f in clean_dir.iterdir():
            f.unlink()
        (clean_dir / "notes.txt").write_text("not audio")
    with pytest.raises(DataError, match=rf"{clean_dir}.*auralab check pairs"):
        PairedSpeechDataset(noisy_dir, clean_dir)


def test_wrong_sample_rate_names_file(pair_dirs):
    noisy_dir, clean_dir = pair_dirs
    _write(noisy_dir / "f0.wav", _noise(10000), sr=8000)
    ds = PairedSpeechDataset(noisy_dir, clean_dir)
    with pytest.raises(AuralabError, match=r"f0\.wav.*8000 Hz"):
        ds[0]


def test_stereo_names_file(pair_dirs):
    noisy_dir, clean_dir = pair_dirs
    _write(clean_dir / "f1.wav", np.stack([_noise(30000)] * 2, axis=1))
    ds = PairedSpeechDataset(noisy_dir, clean_dir, segment_s=1.0)
    with pytest.raises(AuralabError, match=r"f1\.wav.*2 channels"):
        ds[1]


def test_length_mismatch_names_both_lengths(pair_dirs):
    noisy_dir, clean_dir = pair_dirs
    _write(clean_dir / "f0.wav", _noise(19999))
    ds = PairedSpeechDataset(noisy_dir, clean_dir, segment_s=0.5)
    with pytest.raises(DataError, match=r"f0\.wav has 20000 samples but .*f0\.wav has 19999"):
        ds[0]


def _ramp_pair(tmp_path, n):
    """A pair whose samples encode their own position, differently in noisy and clean."""
    k = np.arange(n) / n
    _write(tmp_path / "clean" / "ramp.wav", 0.5 * k)
    _write(tmp_path / "noisy" / "ramp.wav", -0.5 * k)
    return tmp_path / "noisy", tmp_path / "clean"


def test_crops_share_one_offset_and_vary_by_epoch(tmp_path):
    n, seg = 48000, 0.25
    noisy_dir, clean_dir = _ramp_pair(tmp_path, n)
    ds = PairedSpeechDataset(noisy_dir, clean_dir, segment_s=seg, seed=3)
    offsets = []
    for epoch in range(40):
        ds.set_epoch(epoch)
        item = ds[0]
        # Each crop's first sample gives the offset it was cut at.
        noisy_at = round(-float(item["noisy"][0]) * 2 * n)
        clean_at = round(float(item["clean"][0]) * 2 * n)
        assert noisy_at == clean_at
        assert torch.equal(item["noisy"], -item["clean"])
        offsets.append(clean_at)
    assert len(set(offsets)) > 35
    assert 0 <= min(offsets) and max(offsets) <= n - seg * SR


def test_crops_reproducible_per_seed_epoch_index(vbd_test10):
    def crops(seed, epoch):
        ds = PairedSpeechDataset(vbd_test10 / "noisy", vbd_test10 / "clean", 1.0, seed=seed)
        ds.set_epoch(epoch)
        return [ds[i]["noisy"] for i in range(len(ds))]

    first, again = crops(0, 1), crops(0, 1)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    for other in (crops(0, 2), crops(1, 1)):
        assert sum(not torch.equal(a, b) for a, b in zip(first, other, strict=True)) >= 8


def test_real_pairs_crops_aligned_at_lag_zero(vbd_test10):
    ds = PairedSpeechDataset(vbd_test10 / "noisy", vbd_test10 / "clean", segment_s=1.0)
    max_lag = 200
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            noisy, clean = item["noisy"].double().numpy(), item["clean"].double().numpy()
            xcorr = correlate(noisy, clean, mode="full", method="fft")  # lag 0 at len - 1
            zero = len(clean) - 1
            peak = int(np.argmax(xcorr[zero - max_lag : zero + max_lag + 1])) - max_lag
            assert peak == 0, (item["name"], epoch)


def test_short_file_padded_identically(pair_dirs):
    noisy_dir, clean_dir = pair_dirs
    ds = PairedSpeechDataset(noisy_dir, clean_dir, segment_s=2.0)
    item = ds[0]  # f0 has 20000 samples < 32000
    noisy, clean = load(noisy_dir / "f0.wav")[0], load(clean_dir / "f0.wav")[0]
    assert item["noisy"].shape == item["clean"].shape == (32000,)
    assert torch.equal(item["noisy"][:20000], noisy) and torch.equal(item["clean"][:20000], clean)
    assert not item["noisy"][20000:].any() and not item["clean"][20000:].any()


def test_eval_mode_returns_full_files(vbd_test10):
    ds = PairedSpeechDataset(vbd_test10 / "noisy", vbd_test10 / "clean")
    ds.set_epoch(5)  # no effect without segments
    for i, (noisy_path, clean_path) in enumerate(ds.pairs):
        item = ds[i]
        assert item["noisy"].dtype == torch.float32 and item["noisy"].ndim == 1
        assert torch.equal(item["noisy"], load(noisy_path)[0])
        assert torch.equal(item["clean"], load(clean_path)[0])
