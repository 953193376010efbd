"""``auralab classify``: windows, batches with bad files, and the shipped ESC-10 model."""

import json
import shutil
import tomllib

import numpy as np
import pytest
import soundfile as sf
import torch

from auralab.audio import load
from auralab.classify.infer import classify_waveform, loud_windows, window_starts
from auralab.classify.models import build_model
from auralab.classify.pretrained import load_classifier, pretrained_path, registry
from auralab.cli import main
from auralab.errors import AuralabError
from tests.conftest import REPO, shared_data

PRETRAINED = REPO / "src" / "auralab" / "pretrained"
# One clip per class, from different folds; the shipped model saw them in training, so this
# checks the shipped file and the command, not generalisation (that is the card's CV score).
CLIPS = {
    "1-100032-A-0.ogg": "dog",
    "2-107351-A-20.ogg": "crying_baby",
    "3-118657-A-41.ogg": "chainsaw",
    "1-17367-A-10.ogg": "rain",
}


def test_windows_cover_the_signal_and_skip_silence_in_the_mean():
    assert window_starts(100, 40, 20) == [0, 20, 40, 60]
    assert window_starts(90, 40, 20) == [0, 20, 40, 50]  # last window ends at the end
    assert window_starts(30, 40, 20) == [0]
    torch.manual_seed(0)
    model = build_model(
        "cnn", labels=["a", "b"], sr=8000, n_fft=256, hop=128, n_mels=16, channels=[4], window_s=0.5
    ).eval()
    wav = torch.zeros(8000 * 3)
    wav[:4000] = torch.randn(4000)  # sound in the first 0.5 s only
    mean, spans, probs, loud_mask = classify_waveform(model, wav)
    assert len(spans) == len(probs) == 11 and spans[0] == (0.0, 0.5) and spans[-1][1] == 3.0
    loud = loud_windows(torch.stack([wav[int(a * 8000) : int(b * 8000)] for a, b in spans]))
    assert loud.tolist() == loud_mask.tolist() == [True, True] + [False] * 9
    assert np.allclose(mean, probs[loud.numpy()].mean(axis=0))


@pytest.fixture
def clips(tmp_path):
    src = shared_data("esc10", "audio")
    for name in CLIPS:
        shutil.copy(src / name, tmp_path / name)
    return tmp_path


def test_shipped_model_labels_esc10_clips(clips, capsys):
    files = [str(clips / n) for n in CLIPS]
    assert main(["classify", *files, "--top-k", "3", "--json", str(clips / "out.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, label in CLIPS.items():
        line = next(line for line in out if line.startswith(str(clips / name)))
        assert line.split(": ", 1)[1].startswith(f"{label} ")
    result = json.loads((clips / "out.json").read_text())["results"]
    assert [r["top"][0][0] for r in result] == list(CLIPS.values())
    assert all(len(r["top"]) == 3 and r["top"][0][1] > 0.5 for r in result)


def test_long_file_gets_labels_per_window(clips, capsys):
    names = ["1-100032-A-0.ogg", "3-118657-A-41.ogg", "1-17367-A-10.ogg"]  # dog, chainsaw, rain
    parts = [load(clips / n, sr=16000)[0][: 5 * 16000] for n in names]
    sf.write(clips / "long.wav", torch.cat(parts).numpy(), 16000)
    assert main(["classify", str(clips / "long.wav"), "--hop-s", "1"]) == 0
    windows = [line.strip() for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert len(windows) == 14 and windows[0].startswith("0.00-   2.00 s:")
    labels = [w.split(": ")[1].split()[0] for w in windows]
    assert labels[1:3] == ["dog", "dog"]  # the bark sits in the first second or two
    assert labels[7:9] == ["chainsaw", "chainsaw"] and labels[-4:] == ["rain"] * 4
    # windows between the short bark and the chainsaw hold (almost) nothing: flagged
    assert "(quiet: not in the file's mean)" in windows[4]


def test_batch_finishes_good_files_and_lists_bad_ones(clips, capsys):
    (clips / "broken.wav").write_bytes(b"RIFF but not really")
    argv = ["classify", str(clips / "1-100032-A-0.ogg"), str(clips / "broken.wav")]
    assert main([*argv, str(clips / "missing.ogg")]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{clips / '1-100032-A-0.ogg'}: dog")
    assert "2 files failed:" in out
    assert (
        f"{clips / 'broken.wav'}: cannot" in out and f"{clips / 'missing.ogg'}: no such file" in out
    )


def test_shipped_weights_are_verified(tmp_path, monkeypatch):
    name = next(iter(registry()))
    shutil.copy(pretrained_path(name), tmp_path / registry()[name]["file"])
    with open(tmp_path / registry()[name]["file"], "r+b") as f:
        f.seek(-3, 2)
        f.write(b"\x00\x01\x02")
    monkeypatch.setenv("AURALAB_PRETRAINED_DIR", str(tmp_path))
    with pytest.raises(AuralabError, match="sha256 .* does not match classify.toml"):
        load_classifier(name)


def test_model_card_pins_the_registry_scores():
    for name, entry in registry().items():
        card = (PRETRAINED / entry["card"]).read_text()
        for key in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc"):
            mean, std = entry["cv_mean"][key], entry["cv_std"][key]
            assert f"{100 * mean:.2f} ± {100 * std:.2f} |" in card, f"{name}: card lacks {key}"
        model = load_classifier(name)
        assert model.labels == entry["labels"]
        assert (PRETRAINED / entry["file"]).stat().st_size < 2_000_000


def test_registry_is_valid_toml_apart_from_enhancement_models():
    data = tomllib.loads((PRETRAINED / "classify.toml").read_text())
    enhance = tomllib.loads((PRETRAINED / "registry.toml").read_text())
    assert data and not set(data) & set(enhance)
