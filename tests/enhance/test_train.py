"""`auralab train` end to end on the real shared data, tiny settings, with resume."""

import json

import torch

from auralab.cli import main
from auralab.enhance.pretrained import load_model
from auralab.train import load_checkpoint
from tests.conftest import shared_data

FAST = [
    "--set",
    "trainer.batch_size=2",
    "--set",
    "data.segment_s=1.0",
    "--set",
    "data.val_segment_s=1.0",
    "--set",
    "data.val_items=2",
    "--set",
    "trainer.val_every=2",
    "--set",
    "trainer.log_every=1",
    "--set",
    "trainer.warmup_steps=1",
    "--set",
    "trainer.threads=1",
]


def test_train_tiny_on_shared_data_then_resume(tmp_path, capsys, monkeypatch):
    shared_data("speech", "speechocean762")
    monkeypatch.chdir(tmp_path)
    recipe = str(_recipe())
    run = tmp_path / "run"
    data = _data_overrides()
    assert (
        main(["train", recipe, *FAST, *data, "--set", "trainer.max_steps=2", "--run-dir", str(run)])
        == 0
    )
    assert (run / "config.toml").exists() and (run / "training_curves.png").exists()
    assert list((run / "tensorboard").iterdir())  # scalars, audio and spectrograms
    # continue the same run to 4 steps (max_steps is part of the saved config: raise it)
    config = (run / "config.toml").read_text().replace("max_steps = 2", "max_steps = 4")
    (run / "config.toml").write_text(config)
    assert main(["train", "--resume", str(run)]) == 0
    assert "resumed" in capsys.readouterr().out
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["trainer_state"]["step"] == 4
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()]
    assert max(steps) == 4
    model = load_model(run / "last.pt")  # rebuilt from the checkpoint alone
    with torch.no_grad():
        assert model(torch.zeros(1, 1600)).shape == (1, 1600)


def _recipe():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "recipes" / "enhance" / "tiny-shared.toml"


def _data_overrides():
    speech = shared_data("speech", "speechocean762")
    noise = shared_data("noise")
    return [
        "--set",
        f'data.clean_dirs=["{speech / "valid" / "SPEAKER0813"}"]',
        "--set",
        f'data.noise_dirs=["{noise / "household"}"]',
        "--set",
        f'data.val_clean_dirs=["{speech / "valid" / "SPEAKER0813"}"]',
        "--set",
        f'data.val_noise_dirs=["{noise / "mssnsd-test"}"]',
    ]
