"""Cross-validation, training and the classify command end to end on real ESC-10 clips.

Tiny settings (the quick recipe: 8 kHz, a two-block CNN, a few steps): these prove the pipeline
and its outputs, not accuracy; the accuracy claim is ``benchmarks/classify.py``.
"""

import csv
import json

import pytest

from auralab.classify.pretrained import load_classifier
from auralab.cli import main
from auralab.train import load_checkpoint
from tests.conftest import REPO, shared_data

QUICK = REPO / "recipes" / "classify" / "quick.toml"


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    """``auralab crossval quick.toml --quick --final`` on all of ESC-10, run once."""
    shared_data("esc10")
    out = tmp_path_factory.mktemp("cv")
    root = str(shared_data("esc10"))
    argv = ["crossval", str(QUICK), "--quick", "--final", "--out", str(out)]
    argv += ["--set", f'data.root="{root}"', "--set", "trainer.tensorboard=true"]
    assert main(argv) == 0
    return out


def test_crossval_writes_per_fold_and_mean_metrics(cv_run):
    summary = json.loads((cv_run / "summary.json").read_text())
    assert [f["fold"] for f in summary["folds"]] == [1, 2]  # --quick: the first two folds
    assert summary["splits"] == "official folds"
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc"):
        assert 0 <= summary["mean"][key] <= 1 and summary["std"][key] is not None
    assert len(summary["per_class_accuracy"]) == 10
    confusion = list(csv.reader((cv_run / "confusion.csv").open()))
    assert len(confusion) == 11 and confusion[0][1:] == summary["labels"]
    assert sum(int(v) for row in confusion[1:] for v in row[1:]) == 160  # 2 folds x 80 clips
    assert (cv_run / "confusion.png").stat().st_size > 1000
    rows = list(csv.DictReader((cv_run / "predictions.csv").open()))
    assert len(rows) == 160 and {r["fold"] for r in rows} == {"1", "2"}
    fold1 = cv_run / "fold1"
    assert (fold1 / "metrics.jsonl").exists() and list((fold1 / "tensorboard").iterdir())


def test_held_out_fold_never_trains(cv_run):
    fold1 = json.loads((cv_run / "fold1" / "result.json").read_text())
    assert fold1["n_train"] == 320 and fold1["n"] == 80
    assert all(name.startswith("1-") for name in fold1["clips"])  # ESC-50 names start with fold


def test_final_model_is_exported_with_its_scores_and_labels_a_clip(cv_run, capsys):
    model_pt = cv_run / "final" / "model.pt"
    ckpt = load_checkpoint(model_pt)
    assert ckpt["notes"]["cv_mean"]["accuracy"] >= 0
    model = load_classifier(model_pt)
    assert model.labels[0] == "dog" and model.sr == 8000
    clip = shared_data("esc10", "audio", "1-100032-A-0.ogg")
    assert main(["classify", str(clip), "--model", str(model_pt), "--top-k", "3"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"{clip}: ") and line.count(",") == 2
    assert "(resampled 44100 -> 8000 Hz)" in line


def test_train_command_and_crossval_on_a_csv_subset(tmp_path, capsys):
    table = tmp_path / "clips.csv"
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "group", "fold"])
        w.writerows(_subset_rows(per_class=4))
    data = ["--set", f'data.root="{table}"', "--set", "trainer.max_steps=4"]
    data += ["--set", "trainer.batch_size=4"]  # 6 training clips per fold
    run = tmp_path / "run"
    assert (
        main(["train", str(QUICK), "--run-dir", str(run), *data, "--set", "trainer.val_every=2"])
        == 0
    )
    assert "best accuracy" in capsys.readouterr().out
    model = load_classifier(run)
    assert model.labels == ["chainsaw", "dog", "rain"]  # CSV layout: labels sorted by name
    # transfer learning: a second run starts from the first one's weights (--init)
    init = ["--set", f'model.init="{run / "last.pt"}"', "--run-dir", str(tmp_path / "run2")]
    assert main(["train", str(QUICK), *data, *init]) == 0
    assert f"{run / 'last.pt'}: loaded {len(model.state_dict())} tensors" in capsys.readouterr().out
    # crossval over the CSV's own folds; a second call finds both folds done and trains nothing
    cv = ["crossval", str(QUICK), "--out", str(tmp_path / "cv"), *data]
    assert main(cv) == 0 and main(cv) == 0
    out = capsys.readouterr().out
    assert out.count("already done") == 2 and "mean" in out
    # a batch larger than the training set would never make a step: refused up front
    assert main(["train", str(QUICK), *data, "--set", "trainer.batch_size=64"]) == 2
    assert "trainer.batch_size=64 exceeds the 6 training clips" in capsys.readouterr().err


def _subset_rows(per_class: int) -> list[list[str]]:
    """CSV rows (path, label, group, fold) of a few ESC-10 clips from official folds 1 and 2."""
    root = shared_data("esc10")
    with open(root / "meta" / "esc50.csv", newline="") as f:
        meta = list(csv.DictReader(f))
    rows, seen = [], {}
    for r in meta:
        key = (r["category"], r["fold"])
        if r["category"] in ("dog", "rain", "chainsaw") and r["fold"] in ("1", "2"):
            if seen.get(key, 0) < per_class // 2:
                seen[key] = seen.get(key, 0) + 1
                path = str(root / "audio" / r["filename"])
                rows.append([path, r["category"], r["src_file"], r["fold"]])
    return rows


def test_float16_export_matches_the_trained_weights(cv_run):
    import torch

    from auralab.audio import load

    full = load_classifier(cv_run / "final")  # last.pt: float32 weights
    slim = load_classifier(cv_run / "final" / "model.pt")  # float16 on disk
    wav, _ = load(shared_data("esc10", "audio", "1-17367-A-10.ogg"), sr=8000)
    with torch.no_grad():
        a, b = full(wav[None]).softmax(1), slim(wav[None]).softmax(1)
    assert (a - b).abs().max() < 2e-3
