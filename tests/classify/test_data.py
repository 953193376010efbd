"""Dataset layouts, in-memory clips, crops that avoid silence, and splits that cannot leak."""

from collections import Counter

import numpy as np
import pytest
import soundfile as sf
import torch

from auralab.check.dataset import read_table
from auralab.classify.data import ClipDataset, load_clips, open_table
from auralab.classify.splits import assign_folds, dataset_folds, fold_indices, refuse_leaks
from auralab.errors import ConfigError, DataError
from tests.conftest import shared_data

SR = 8000


def tone(path, seconds=1.0, start_s=0.0, sr=SR):
    """A file that is silent except for a 1 kHz tone from ``start_s`` on."""
    x = np.zeros(int(seconds * sr), np.float32)
    x[int(start_s * sr) :] = 0.5 * np.sin(
        2 * np.pi * 1000 * np.arange(x.size - int(start_s * sr)) / sr
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr)
    return path


def test_esc10_is_read_with_official_folds_and_source_groups():
    table = open_table(shared_data("esc10"))
    assert table.layout == "esc50" and len(table.clips) == 400
    assert table.labels[:3] == ["dog", "rooster", "rain"]  # ESC-50 target order
    assert Counter(c.label for c in table.clips) == {label: 40 for label in table.labels}
    assert table.has_folds and {c.fold for c in table.clips} == {1, 2, 3, 4, 5}
    assert table.has_groups
    folds = dataset_folds(table)
    train, val = fold_indices(folds, 1)
    assert len(train) == 320 and len(val) == 80
    refuse_leaks(table, train, val)  # the official folds keep recordings together


def test_csv_and_folder_layouts(tmp_path):
    for i, label in enumerate(["dog", "dog", "rain", "rain"]):
        tone(tmp_path / "folders" / label / f"{i}.wav")
    table = read_table(tmp_path / "folders")
    assert table.layout == "folders" and table.labels == ["dog", "rain"] and not table.findings
    csv = tmp_path / "clips" / "labels.csv"
    for name in ("a.wav", "b.flac", "c.wav"):
        tone(tmp_path / "clips" / "audio" / name)
    csv.write_text("path,label,group\na.wav,dog,rec1\nb.flac,dog,rec1\nc.wav,rain,rec2\n")
    table = read_table(tmp_path / "clips")  # the folder's one CSV, files under audio/
    assert [(c.id, c.label, c.group) for c in table.clips] == [
        ("a.wav", "dog", "rec1"),
        ("b.flac", "dog", "rec1"),
        ("c.wav", "rain", "rec2"),
    ]


def test_a_dataset_with_errors_is_refused_with_the_check_command(tmp_path):
    tone(tmp_path / "audio" / "a.wav")
    (tmp_path / "labels.csv").write_text("path,label\na.wav,dog\ngone.wav,dog\n")
    with pytest.raises(DataError, match=r"gone.wav.*auralab check dataset"):
        open_table(tmp_path)


def test_clips_are_padded_and_crops_avoid_silence(tmp_path):
    # 0.6 s of silence, then 0.4 s of tone; 0.3 s crops must land on the tone
    for i in range(2):
        tone(tmp_path / "x" / f"{i}.wav", seconds=1.0, start_s=0.6)
    tone(tmp_path / "y" / "short.wav", seconds=0.5)
    tone(tmp_path / "y" / "short2.wav", seconds=0.5)
    audio = load_clips(read_table(tmp_path), sr=SR, clip_s=1.2)
    assert audio.wav.shape == (4, int(1.2 * SR))
    assert audio.lengths.tolist() == [SR, SR, SR // 2, SR // 2]
    assert torch.all(audio.wav[2, SR // 2 :] == 0)  # zero-padded after the real audio
    data = ClipDataset(audio, [0, 1], crop_s=0.3, seed=0)
    for epoch in range(5):
        data.set_epoch(epoch)
        crop = data[0]["wav"]
        assert crop.numel() == int(0.3 * SR)
        assert crop.square().mean() > 0.01  # never a silent crop
    data.set_epoch(3)
    again = ClipDataset(audio, [0, 1], crop_s=0.3, seed=0)
    again.set_epoch(3)
    assert torch.equal(data[1]["wav"], again[1]["wav"])  # crops depend on (seed, epoch, item)
    whole = ClipDataset(audio, [2])[0]
    assert whole["wav"].numel() == int(1.2 * SR) and whole["name"] == "y/short.wav"


def test_grouped_stratified_folds_keep_groups_together_and_balance_classes():
    rng = np.random.default_rng(0)
    labels, groups = [], []
    for g in range(120):  # recordings of 1 to 4 clips, 6 classes
        n = int(rng.integers(1, 5))
        labels += [g % 6] * n
        groups += [f"rec{g}"] * n
    folds = assign_folds(labels, groups, 5, seed=0)
    per_group = {}
    for g, f in zip(groups, folds, strict=True):
        assert per_group.setdefault(g, f) == f  # one fold per recording
    counts = np.zeros((5, 6))
    for y, f in zip(labels, folds, strict=True):
        counts[f - 1, y] += 1
    share = counts / counts.sum(axis=0)
    assert np.abs(share - 0.2).max() < 0.1  # every class spread evenly over the folds
    assert sorted(set(folds.tolist())) == [1, 2, 3, 4, 5]


def test_leaks_and_bad_folds_are_refused():
    table = open_table(shared_data("esc10"))
    rows = np.arange(len(table.clips))
    with pytest.raises(DataError, match="source recording .* train and val"):
        refuse_leaks(table, rows[::2], rows[1::2])  # alternate clips: takes split apart
    with pytest.raises(ConfigError, match="data.val_fold=9"):
        fold_indices(dataset_folds(table), 9)
    with pytest.raises(ConfigError, match="n_folds"):
        assign_folds([0, 1], ["a", "b"], 3)


def test_every_classify_recipe_loads():
    from auralab.classify.config import ClassifyConfig
    from auralab.config import load_config
    from tests.conftest import REPO

    recipes = sorted((REPO / "recipes" / "classify").glob("*.toml"))
    assert len(recipes) >= 4
    for recipe in recipes:
        config = load_config(ClassifyConfig, recipe)
        assert config.task == "classify" and config.data.sr in (8000, 16000)
