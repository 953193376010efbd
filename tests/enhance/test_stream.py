"""Streaming equals offline, sample for sample, for every causal model with a frame step."""

import pytest
import torch

from auralab.audio import load
from auralab.enhance.models import MODELS, build_model
from auralab.enhance.stream import StreamingEnhancer
from auralab.errors import ConfigError
from tests.conftest import random_chunks, shared_data

STREAMABLE = ["tiny", "crn", "bsrnn"]


@pytest.fixture(scope="module")
def speech_10s():
    root = shared_data("pairs", "vbd-test10", "noisy")
    wav = torch.cat([load(root / f"p232_{i:03d}.wav")[0] for i in (3, 5)])  # 13.4 s
    assert wav.numel() >= 10 * 16000
    return wav


def stream(model, wav, seed=0):
    s = StreamingEnhancer(model)
    out = [s.process(wav[c]) for c in random_chunks(wav.numel(), seed)] + [s.flush()]
    return torch.cat(out), s.latency_samples


@pytest.mark.parametrize("name", STREAMABLE)
def test_streaming_equals_offline_on_real_speech(name, speech_10s):
    torch.manual_seed(0)
    model = build_model(name).eval()
    with torch.no_grad():
        offline = model(speech_10s[None])[0]
    out, latency = stream(model, speech_10s)
    assert out.numel() == speech_10s.numel() + latency
    assert out[:latency].abs().max() == 0  # silence while the first frame fills
    assert (out[latency:] - offline).abs().max() <= 1e-5


@pytest.mark.parametrize("name", STREAMABLE)
def test_masker_step_over_blocks_of_any_size_equals_masker(name, speech_10s):
    torch.manual_seed(0)
    model = build_model(name).eval()
    spec = model.stft.forward(speech_10s[None, : 3 * 16000])  # (1, F, N) complex
    raws = []
    with torch.no_grad():
        offline = model.masker(spec)
        state = model.init_state(1)
        for block in random_chunks(spec.shape[-1], seed=1, sizes=(1, 2, 3, 9, 40)):
            raw, state = model.masker_step(spec[..., block], state)
            raws.append(raw)
    assert (torch.cat(raws, dim=-1) - offline).abs().max() <= 1e-5


def test_latency_is_one_window_and_under_15_ms_for_tiny():
    model = build_model("tiny")
    s = StreamingEnhancer(model)
    assert s.latency_samples == model.stft.n_fft
    assert s.latency_s < 0.015


def test_reset_starts_a_new_stream(speech_10s):
    model = build_model("tiny").eval()
    s = StreamingEnhancer(model)
    first = s.process(speech_10s[:8000])
    s.process(speech_10s[8000:16000])
    s.reset()
    assert torch.equal(s.process(speech_10s[:8000]), first)


def test_non_causal_models_are_refused():
    for name in MODELS.names():
        model = build_model(name)
        if not model.causal:
            with pytest.raises(ConfigError, match="is not causal, so it cannot stream"):
                StreamingEnhancer(model)
