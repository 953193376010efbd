"""Active speech level, mixing at an SNR, and MixingDataset on real speech and noise."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from auralab.audio import load
from auralab.data import MixingDataset, active_level_db, loop_noise, mix_at_snr, power_db
from auralab.errors import AudioError, DataError
from tests.conftest import shared_data

SR = 16000


def _tone(seconds, amp=0.5, freq=440.0):
    t = torch.arange(round(seconds * SR), dtype=torch.float64) / SR
    return (amp * torch.sin(2 * math.pi * freq * t)).float()


def _write(path, wav, sr=SR):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(wav, dtype=np.float32), sr, subtype="FLOAT")


@pytest.fixture
def speech_dir():
    """16 utterances of one validation speaker (speechocean762)."""
    return shared_data("speech", "speechocean762", "valid", "SPEAKER0813")


@pytest.fixture
def noise_dir():
    return shared_data("noise", "household")


def _measured_snr(item):
    return active_level_db(item["clean"], SR) - power_db(item["noisy"] - item["clean"])


def _fit(target, reference):
    """Least-squares gain a with target ~ a * reference, and the residual's largest sample."""
    target, reference = target.double(), reference.double()
    a = float(target @ reference / (reference @ reference))
    return a, float((target - a * reference).abs().max())


# --- levels ---------------------------------------------------------------------------------


def test_active_level_of_tone_is_its_power_and_ignores_silence():
    tone = _tone(1.0)
    expected = 10 * math.log10(0.5**2 / 2)
    assert active_level_db(tone, SR) == pytest.approx(expected, abs=0.01)
    assert power_db(tone) == pytest.approx(expected, abs=0.01)
    padded = torch.cat([tone, torch.zeros_like(tone)])  # 50 % silence
    assert abs(active_level_db(padded, SR) - active_level_db(tone, SR)) < 0.5
    assert power_db(padded) == pytest.approx(expected - 3.01, abs=0.02)  # whole-file level drops


def test_active_level_ignores_faint_noise_floor_and_scales():
    tone = _tone(1.0)
    level = active_level_db(tone, SR)
    floor = torch.from_numpy(np.random.default_rng(0).standard_normal(SR) * 1e-4).float()
    assert active_level_db(torch.cat([tone, floor]), SR) == pytest.approx(level, abs=0.01)
    assert active_level_db(2 * tone, SR) == pytest.approx(level + 6.02, abs=0.01)
    assert active_level_db(torch.zeros(SR), SR) == -math.inf


def test_active_level_of_speech_unchanged_by_padding(speech_dir):
    speech = load(sorted(speech_dir.glob("*.flac"))[0])[0]
    padded = torch.cat([torch.zeros(SR), speech, torch.zeros(SR)])
    assert active_level_db(padded, SR) == pytest.approx(active_level_db(speech, SR), abs=0.05)
    # Active level sits above the whole-file power, which counts the pauses.
    assert active_level_db(speech, SR) > power_db(speech)


def test_mix_at_snr_hits_target(speech_dir, noise_dir):
    clean = load(sorted(speech_dir.glob("*.flac"))[0])[0]
    noise = load(noise_dir / "street_0.flac")[0][: clean.numel()]
    for snr in (-5.0, 0.0, 7.5, 20.0):
        noisy, scaled = mix_at_snr(clean, noise, snr, SR)
        assert active_level_db(clean, SR) - power_db(scaled) == pytest.approx(snr, abs=0.01)
        assert torch.allclose(noisy - clean, scaled, atol=1e-6)
        assert noisy.dtype == clean.dtype and noisy.shape == clean.shape


def test_mix_at_snr_refuses_silence_and_shape_mismatch():
    tone = _tone(0.5)
    with pytest.raises(AudioError, match="noise signal is silent"):
        mix_at_snr(tone, torch.zeros_like(tone), 5.0, SR)
    with pytest.raises(AudioError, match="same T"):
        mix_at_snr(tone, tone[:-1], 5.0, SR)


def test_loop_noise_keeps_level_through_crossfades():
    n, xf = 4000, 800
    noise = torch.from_numpy(np.random.default_rng(1).standard_normal(n) * 0.1).float()
    looped = loop_noise(noise, 5 * n, xf)
    assert looped.shape == (5 * n,)
    assert torch.equal(looped[: n - xf], noise[: n - xf])
    assert torch.equal(loop_noise(noise, n - 10, xf), noise[: n - 10])
    # Joints start every n - xf samples; equal-power fades keep white noise at its level there
    # (a linear fade would dip by 1.8 dB on average).
    joints = [looped[k * (n - xf) : k * (n - xf) + xf] for k in range(1, 5)]
    assert abs(power_db(torch.cat(joints)) - power_db(noise)) < 1.0


# --- MixingDataset --------------------------------------------------------------------------


def test_items_hit_snr_and_stay_in_range(speech_dir, noise_dir):
    ds = MixingDataset(speech_dir, noise_dir, snr_db=(-5.0, 20.0), segment_s=4.0)
    assert len(ds) == 16
    for i in range(len(ds)):
        item = ds[i]
        assert item["noisy"].shape == item["clean"].shape == (4 * SR,)
        assert item["noisy"].dtype == torch.float32
        assert -5.0 <= item["snr_db"] <= 20.0
        assert _measured_snr(item) == pytest.approx(item["snr_db"], abs=0.1)
        assert item["noisy"].abs().max() <= 1.0 and item["clean"].abs().max() <= 1.0
        assert item["name"] == ds.plan(i).clean.relative_to(speech_dir).as_posix()


def test_noisy_minus_clean_is_the_noise_excerpt(speech_dir, noise_dir):
    ds = MixingDataset(speech_dir, noise_dir, segment_s=2.0, seed=7)
    for i in range(4):
        plan, item = ds.plan(i), ds[i]
        noise = load(plan.noise)[0][plan.noise_offset : plan.noise_offset + plan.length]
        a, err = _fit(item["noisy"] - item["clean"], noise)
        assert a > 0 and err < 1e-6
        clean = load(plan.clean)[0][plan.clean_offset : plan.clean_offset + plan.length]
        b, err = _fit(item["clean"][: clean.numel()], clean)
        assert b > 0 and err < 1e-6
        # Both got the same overall gain: the drawn one, unless scaled down against clipping.
        assert b <= 10 ** (plan.gain_db / 20) * (1 + 1e-6)


def test_reproducible_per_seed_epoch_index(speech_dir, noise_dir):
    def items(seed, epoch):
        ds = MixingDataset(speech_dir, noise_dir, segment_s=1.0, seed=seed)
        ds.set_epoch(epoch)
        return [ds[i] for i in range(4)]

    first, again = items(0, 0), items(0, 0)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a["noisy"], b["noisy"]) and a["snr_db"] == b["snr_db"]
    for other in (items(0, 1), items(1, 0)):
        for a, b in zip(first, other, strict=True):
            assert not torch.equal(a["noisy"], b["noisy"]) and a["snr_db"] != b["snr_db"]


def test_loud_gain_is_scaled_not_clipped(speech_dir, noise_dir):
    ds = MixingDataset(speech_dir, noise_dir, snr_db=(-5.0, 0.0), gain_db=30.0, segment_s=1.0)
    for i in range(4):
        item = ds[i]
        assert item["noisy"].abs().max() <= 1.0 and item["clean"].abs().max() <= 1.0
        assert max(item["noisy"].abs().max(), item["clean"].abs().max()) > 0.9
        assert _measured_snr(item) == pytest.approx(item["snr_db"], abs=0.1)


def test_short_noise_is_looped(speech_dir, tmp_path):
    _write(tmp_path / "noise" / "short.wav", np.random.default_rng(2).standard_normal(3000) * 0.1)
    ds = MixingDataset(speech_dir, tmp_path / "noise", segment_s=2.0, snr_db=5.0)
    for i in range(3):
        item = ds[i]
        assert item["noisy"].shape == (2 * SR,)
        assert _measured_snr(item) == pytest.approx(5.0, abs=0.1)


def test_whole_files_and_dataloader(speech_dir, noise_dir):
    ds = MixingDataset(speech_dir, noise_dir, segment_s=None, gain_db=0.0)
    plan, item = ds.plan(0), ds[0]
    clean = load(plan.clean)[0]
    assert item["clean"].shape == clean.shape and plan.clean_offset == 0
    batch = next(iter(DataLoader(MixingDataset(speech_dir, noise_dir, segment_s=0.5), 4)))
    assert batch["noisy"].shape == (4, SR // 2) and batch["snr_db"].shape == (4,)


def test_refusals(speech_dir, noise_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty.*no audio files"):
        MixingDataset(speech_dir, tmp_path / "empty")
    _write(tmp_path / "n8k" / "low.wav", np.zeros(800) + 0.1, sr=8000)
    with pytest.raises(AudioError, match=r"low\.wav.*8000 Hz"):
        MixingDataset(speech_dir, tmp_path / "n8k")
    _write(tmp_path / "silent" / "zeros.wav", np.zeros(SR))
    ds = MixingDataset(tmp_path / "silent", noise_dir, segment_s=0.5)
    with pytest.raises(DataError, match=r"zeros\.wav.*silent"):
        ds[0]


def test_lists_of_folders(speech_dir, noise_dir, tmp_path):
    other = shared_data("speech", "speechocean762", "valid", "SPEAKER1228")
    _write(tmp_path / "noise" / "short.wav", np.random.default_rng(3).standard_normal(3000) * 0.1)
    ds = MixingDataset([speech_dir, other], [noise_dir, tmp_path / "noise"], segment_s=0.5)
    assert len(ds) == len(list(speech_dir.glob("*.flac"))) + len(list(other.glob("*.flac")))
    assert len(ds.noise_files) == len(list(noise_dir.glob("*.flac"))) + 1
    item = ds[-1]
    assert item["name"] == ds.clean_files[-1].relative_to(other).as_posix()
