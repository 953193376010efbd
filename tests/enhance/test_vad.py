"""Silero VAD: speech ratios match the real content, noise is not speech, the gate is smooth,
and ``auralab vad`` / ``enhance --vad`` / ``evaluate --vad`` work without a network."""

import json
import socket

import numpy as np
import pytest
import torch

from auralab.audio import load
from auralab.cli import main
from auralab.enhance.evaluate import example_dirs
from auralab.enhance.models import build_model
from auralab.enhance.vad import (
    Segment,
    SileroVad,
    detect_speech,
    gate_gain,
    segments_from_probabilities,
    speech_gate,
    speech_mask,
    speech_ratio,
)
from auralab.train.checkpoint import save_checkpoint
from tests.conftest import shared_data

NOISE_ONLY = [  # recordings without any voice in them (babble and announcements excluded)
    "noisex92/factory1.flac",
    "noisex92/volvo.flac",
    "household/aircon_0.flac",
    "household/dishwasher_0.flac",
    "speechcommands/running_tap.flac",
    "speechbrain/noise1.flac",
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    # Offline means offline: any attempt to open a connection fails the test.
    def refuse(*args, **kwargs):
        raise AssertionError("the VAD tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def vad():
    return SileroVad()


def energy_reference(clean: np.ndarray, sr: int) -> float:
    """Speech ratio of a studio-clean file: 32 ms frames within 30 dB of the loudest frame,
    with the same pause bridging and padding the VAD segments get."""
    frame = 512
    n = clean.size // frame
    energy = 10 * np.log10((clean[: n * frame].reshape(n, frame) ** 2).mean(1) + 1e-12)
    active = (energy > energy.max() - 30).astype(np.float32)
    return speech_ratio(segments_from_probabilities(active, clean.size / sr), clean.size / sr)


def test_speech_ratio_of_noisy_speech_matches_its_clean_content(vad):
    root = shared_data("pairs", "vbd-test10")
    errors = []
    for name in ("p232_001", "p232_002", "p232_005", "p232_011"):
        noisy, sr = load(root / "noisy" / f"{name}.wav")
        clean, _ = load(root / "clean" / f"{name}.wav")
        got = speech_ratio(detect_speech(noisy, sr, vad), noisy.numel() / sr)
        errors.append(abs(got - energy_reference(clean.numpy(), sr)))
    assert max(errors) < 0.1 and np.mean(errors) < 0.06  # measured 0.03 mean, 0.06 max


def test_noise_only_recordings_have_almost_no_speech(vad):
    root = shared_data("noise")
    for rel in NOISE_ONLY:
        wav, sr = load(root / rel, sr=16000)
        wav = wav[: 8 * sr]
        assert speech_ratio(detect_speech(wav, sr, vad), wav.numel() / sr) < 0.05, rel


def test_speech_between_noise_is_found_where_it_is(vad):
    noise, sr = load(shared_data("noise", "household", "aircon_0.flac"), sr=16000)
    speech, _ = load(shared_data("pairs", "vbd-test10", "noisy", "p232_002.wav"))
    pad = 2 * sr
    wav = torch.cat([noise[:pad], speech + 0.5 * noise[pad : pad + speech.numel()], noise[:pad]])
    segments = detect_speech(wav, sr, vad)
    assert segments
    start, end = pad / sr, (pad + speech.numel()) / sr
    # Onsets are found within padding; offsets may hang over by the VAD's recurrent decay
    # plus the 100 ms pause it waits for (measured 0.12 s).
    assert all(start - 0.05 <= s.start and s.end <= end + 0.25 for s in segments)
    inside = sum(min(s.end, end) - max(s.start, start) for s in segments)
    assert inside > 0.7 * (end - start)


def test_gate_keeps_speech_attenuates_the_rest_and_ramps_smoothly():
    sr = 16000
    mask = speech_mask([Segment(1.0, 2.0)], 3 * sr, sr)
    gain = gate_gain(mask, sr, attenuation_db=20, ramp_s=0.02)
    assert np.all(gain[mask] == 1.0)  # speech untouched, onsets included
    floor = 10 ** (-20 / 20)
    assert np.allclose(gain[: int(0.97 * sr)], floor) and np.allclose(gain[int(2.03 * sr) :], floor)
    ramp = gain[int(0.97 * sr) : sr]
    assert np.all(np.diff(ramp) >= 0)  # a monotone fade-in over the 20 ms before speech
    assert np.abs(np.diff(gain)).max() < 3 * (1 - floor) / (0.02 * sr)  # no jumps


def test_speech_gate_on_a_waveform_and_a_tensor():
    sr = 16000
    wav = np.ones((2, sr), np.float32)
    out = speech_gate(wav, sr, attenuation_db=40, segments=[Segment(0.5, 0.75)])
    assert out.shape == wav.shape and out.dtype == np.float32
    assert out[:, 10] == pytest.approx(0.01) and np.all(out[:, sr // 2 : 3 * sr // 4] == 1)
    tensor = speech_gate(torch.from_numpy(wav[0]), sr, 40, segments=[])
    assert isinstance(tensor, torch.Tensor) and torch.allclose(tensor, torch.full((sr,), 0.01))


def test_vad_cli_prints_segments(capsys):
    path = sorted(example_dirs()[0].glob("*.wav"))[0]
    assert main(["vad", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "speech segments" in printed and " s  (" in printed
    assert main(["vad", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)[str(path)]
    assert 0.5 < report["speech_ratio"] < 1 and report["segments"]


def test_enhance_and_evaluate_with_vad(tmp_path, capsys):
    torch.manual_seed(0)
    model = build_model("tiny")
    state = {"model_name": "tiny", "model_config": model.config(), "model": model.state_dict()}
    ckpt = save_checkpoint(tmp_path / "tiny.pt", state)
    noisy_dir, clean_dir = example_dirs()
    plain, gated = tmp_path / "plain", tmp_path / "gated"
    base = ["enhance", str(noisy_dir), "--model", str(ckpt), "--quiet", "--threads", "1"]
    assert main([*base, "-o", str(plain)]) == 0
    assert main([*base, "-o", str(gated), "--vad", "--vad-db", "30"]) == 0
    name = sorted(noisy_dir.glob("*.wav"))[0].name
    a, sr = load(plain / name)
    b, _ = load(gated / name)
    mask = torch.from_numpy(speech_mask(detect_speech(a, sr), a.numel(), sr))  # as gated
    assert torch.allclose(a[mask], b[mask], atol=1e-6)  # speech kept
    lead = slice(0, int(0.2 * sr))  # VoiceBank files start with silence
    assert b[lead].square().mean() < 0.01 * a[lead].square().mean()  # 30 dB = 1/1000 in power
    capsys.readouterr()
    out = tmp_path / "eval"
    argv = ["evaluate", "--example", "--enhanced", str(gated), "-o", str(out), "--vad"]
    assert main([*argv, "--workers", "1", "--quiet"]) == 0
    assert "speech-active regions only" in capsys.readouterr().out
    summary = json.loads((out / "speech_active" / "summary.json").read_text())
    assert set(summary["systems"]) == {"noisy", "enhanced"}
    assert all(0.5 < r < 1 for r in summary["speech_ratio_clean"].values())
