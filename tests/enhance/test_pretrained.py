"""The shipped models: checksums, self-contained loading, and pinned scores on real pairs.

Like DeepFilterNet's TARGET_METRICS: every shipped model must beat the unprocessed input on
the 10 VoiceBank-DEMAND test pairs and must not fall below the scores in its registry entry
(measured when it was shipped) by more than the stated tolerance.
"""

import numpy as np
import pytest
import torch

from auralab.audio import load
from auralab.enhance.pretrained import DEFAULT_MODEL, load_model, pretrained_path, registry
from auralab.errors import AuralabError
from auralab.metrics import pesq, si_sdr, stoi

SHIPPED = sorted(registry())


def test_default_model_is_shipped():
    assert DEFAULT_MODEL in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_beats_noisy_and_meets_pinned_scores(name, vbd_test10):
    entry = registry()[name]
    model = load_model(name)
    scores = {"pesq_wb": [], "stoi": [], "si_sdr": []}
    noisy_scores = {k: [] for k in scores}
    for path in sorted((vbd_test10 / "noisy").glob("*.wav")):
        noisy, sr = load(path, sr=model.sr, resample_ok=False)
        clean, _ = load(vbd_test10 / "clean" / path.name)
        with torch.no_grad():
            enhanced = model(noisy[None])[0]
        for system, wav in (("enhanced", enhanced), ("noisy", noisy)):
            target = scores if system == "enhanced" else noisy_scores
            target["pesq_wb"].append(pesq(wav, clean, sr))
            target["stoi"].append(stoi(wav, clean, sr))
            target["si_sdr"].append(si_sdr(wav, clean))
    tolerance = entry["tolerance"]
    for metric, values in scores.items():
        mean = float(np.mean(values))
        assert mean > float(np.mean(noisy_scores[metric])), f"{name} {metric} does not beat noisy"
        pinned = entry["scores"][metric]
        assert mean >= pinned - tolerance[metric], f"{name} {metric} {mean:.4f} < pinned {pinned}"


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    name = DEFAULT_MODEL
    src = pretrained_path(name)
    bad = tmp_path / src.name
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    bad.write_bytes(bytes(data))
    monkeypatch.setenv("AURALAB_PRETRAINED_DIR", str(tmp_path))
    with pytest.raises(AuralabError, match=r"sha256 .* does not match registry.toml"):
        load_model(name)


def test_unknown_name_lists_shipped_models():
    with pytest.raises(AuralabError, match=r"no shipped model 'nope'; shipped: .*tiny"):
        load_model("nope")


def test_shipped_checkpoint_is_plain_and_self_contained():
    ckpt = torch.load(pretrained_path(DEFAULT_MODEL), weights_only=True)
    assert {"model_name", "model_config", "model"} <= set(ckpt)
    assert "optimizer" not in ckpt  # inference weights only: small
