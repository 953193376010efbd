"""Shipped EQ models: checksums, self-contained checkpoints, pinned held-out SAFE scores."""

import pytest
import torch

from auralab.audio import load
from auralab.config import from_dict
from auralab.eq import evaluate as ev
from auralab.eq.config import EqConfig
from auralab.eq.generate import example_music_path
from auralab.eq.pretrained import (
    DEFAULT_MODEL,
    load_checkpoint_of,
    load_model,
    pretrained_path,
    registry,
)
from auralab.eq.task import load_splits
from auralab.errors import AuralabError
from tests.conftest import shared_data

SHIPPED = sorted(registry())
LOWER_IS_BETTER = {"response_db", "param_error"}


@pytest.fixture(scope="module")
def evaluation():
    csv = shared_data("safe-db", "SAFEEqualiserUserData.csv")
    ckpt, _ = load_checkpoint_of(DEFAULT_MODEL)
    splits, vocab = load_splits(from_dict(EqConfig, ckpt["config"]), str(csv))
    systems = [ev.ModelSystem(name, load_model(name)) for name in SHIPPED]
    systems.append(ev.MeanSystem(splits["train"], vocab))
    wav, sr = load(example_music_path(), mono=False)
    result = ev.evaluate(systems, splits["train"], splits["test"], vocab, (wav.numpy(), sr))
    return {row.name: row for row in result.rows}


def test_default_model_is_shipped_and_small():
    assert DEFAULT_MODEL in SHIPPED
    for name in SHIPPED:
        assert pretrained_path(name).stat().st_size < 1_000_000


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_meets_its_pinned_scores(name, evaluation):
    entry, row = registry()[name], evaluation[name]
    for metric, pinned in entry["scores"].items():
        value, tol = getattr(row, metric), entry["tolerance"][metric]
        if metric in LOWER_IS_BETTER:
            assert value <= pinned + tol, f"{name} {metric} {value:.4f} > pinned {pinned}"
        else:
            assert value >= pinned - tol, f"{name} {metric} {value:.4f} < pinned {pinned}"


def test_default_model_does_what_the_issue_asks(evaluation):
    ours, mean = evaluation[DEFAULT_MODEL], evaluation["per-term mean"]
    assert ours.response_db < mean.response_db
    assert ours.silhouette > 0 and ours.monotone
    assert ours.bright_shelf_max_hz >= ev.SHELF_REGION_HZ[0]  # reaches the 8-20 kHz shelf region


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    src = pretrained_path(DEFAULT_MODEL)
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte inside the weights
    (tmp_path / src.name).write_bytes(bytes(data))
    monkeypatch.setenv("AURALAB_PRETRAINED_DIR", str(tmp_path))
    with pytest.raises(AuralabError, match=r"sha256 .* does not match eq.toml"):
        load_model(DEFAULT_MODEL)


def test_unknown_name_lists_shipped_models():
    shipped = r"no shipped EQ model 'nope'; shipped: eq-default, eq-betavae"
    with pytest.raises(AuralabError, match=shipped):
        load_model("nope")


def test_shipped_checkpoint_is_plain_and_self_contained():
    ckpt = torch.load(pretrained_path(DEFAULT_MODEL), weights_only=True)
    assert {"model_name", "model_config", "model", "config"} <= set(ckpt)
    assert "optimizer" not in ckpt
    assert ckpt["model_config"]["terms"][:2] == ["warm", "bright"]
