import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from auralab.errors import ConfigError
from auralab.train import Trainer, load_checkpoint
from tests.train.toy import ToyConfig, ToyTask

REPO = Path(__file__).resolve().parents[2]


def train(run_dir, resume=False, crash_after=None, **overrides):
    config = ToyConfig()
    for k, v in overrides.items():
        setattr(config.trainer, k, v)
    task = ToyTask(config, crash_after)
    try:
        Trainer(task, config, run_dir, resume=resume).fit()
    except KeyboardInterrupt:
        pass
    return task


def test_resumed_run_matches_uninterrupted_run(tmp_path):
    train(tmp_path / "full")
    first = train(tmp_path / "split", crash_after=10)  # killed at step 10; last checkpoint: 8
    rest = train(tmp_path / "split", resume=True)
    full = load_checkpoint(tmp_path / "full" / "last.pt")
    split = load_checkpoint(tmp_path / "split" / "last.pt")
    for k in full["model"]:
        assert torch.equal(full["model"][k], split["model"][k]), k
    assert full["trainer_state"] == split["trainer_state"]
    assert first.seen[: 8 * 8] + rest.seen == train(tmp_path / "again").seen  # same batches
    full_log = (tmp_path / "full" / "metrics.jsonl").read_text()
    split_log = (tmp_path / "split" / "metrics.jsonl").read_text()

    def strip(text):
        return [
            {k: v for k, v in json.loads(x).items() if k != "sec_per_step"}
            for x in text.splitlines()
        ]

    assert strip(split_log) == strip(full_log)  # steps 9-10 logged once, not twice


def test_run_folder_contents_and_plain_checkpoint(tmp_path):
    train(tmp_path / "run")
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.toml", "metrics.jsonl", "training_curves.png", "last.pt", "best.pt"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temp files left behind
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)  # plain types only
    assert ckpt["model_name"] == "toy" and ckpt["model_config"] == {"hidden": 8}
    assert ckpt["config"]["trainer"]["max_steps"] == 12 and ckpt["auralab_version"]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert any("val/loss" in r for r in records) and any("train/loss" in r for r in records)
    assert records[-1]["val/loss"] < records[0]["train/loss"]  # it learned something


def test_refuses_to_overwrite_a_run(tmp_path):
    train(tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds a run; use --resume"):
        train(tmp_path / "run")


def test_fewer_items_than_a_batch_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"64 items, fewer than one batch \(128\)"):
        train(tmp_path / "run", batch_size=128)


def test_early_stopping_stops(tmp_path):
    # lr so small nothing improves after the first validation -> stop after 2 bad validations
    state_task = train(
        tmp_path / "run", lr=1e-9, warmup_steps=0, max_steps=400, early_stop_patience=2, val_every=4
    )
    assert len(state_task.seen) <= 12 * 8


def test_unknown_early_stop_metric_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"trainer.early_stop_metric='pesq' is not among"):
        train(tmp_path / "run", early_stop_metric="pesq")


def test_ema_weights_are_saved(tmp_path):
    train(tmp_path / "run", ema_decay=0.9)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["ema"] is not None
    assert any(not torch.equal(ckpt["ema"][k], ckpt["model"][k]) for k in ckpt["model"])


DDP_SCRIPT = """
import json, os, sys, torch
sys.path.insert(0, {repo!r})
from auralab.train import Trainer
from tests.train.toy import ToyConfig, ToyTask
config = ToyConfig(); config.trainer.max_steps = 6; config.trainer.batch_size = 4
task = ToyTask(config)
trainer = Trainer(task, config, {run!r})
trainer.fit()
grads = [p.detach().clone() for p in trainer.model.parameters()]
rank = int(os.environ["RANK"])
json.dump({{"seen": task.seen, "weights": [g.flatten().tolist() for g in grads]}},
          open(os.path.join({out!r}, f"rank{{rank}}.json"), "w"))
"""


def test_ddp_two_cpu_ranks(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(
        DDP_SCRIPT.format(repo=str(REPO), run=str(tmp_path / "run"), out=str(tmp_path))
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        str(script),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert set(r0["seen"]).isdisjoint(r1["seen"])  # each rank sees different data
    assert r0["weights"] == r1["weights"]  # gradients were averaged: replicas stay identical
    written = {p.name for p in (tmp_path / "run").iterdir()}
    assert "last.pt" in written and "metrics.jsonl" in written  # rank 0 wrote the run
