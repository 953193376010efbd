"""Every registered classifier runs, rebuilds from its config, and loads user-supplied weights."""

import pytest
import torch

from auralab.classify.models import MODELS, build_model, load_init
from auralab.errors import AuralabError, ConfigError

LABELS = ["dog", "rain", "siren"]
SMALL = {
    "cnn": {"channels": [4, 8]},
    "resnet": {"stem": 4, "channels": [8, 8]},
    "mobilenet": {"stem": 4, "channels": [8, 8], "blocks": 1, "expand": 2},
}
FRONT = {"sr": 8000, "n_fft": 256, "hop": 128, "n_mels": 16}


def small(name: str, labels=LABELS, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(name, labels=labels, **FRONT, **SMALL[name]).eval()


def test_every_registered_model_is_covered():
    assert set(MODELS.names()) == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_waveform_and_features_paths_agree_and_config_rebuilds(name):
    model = small(name)
    wav = torch.randn(2, 8000)
    with torch.no_grad():
        logits = model(wav)
        assert logits.shape == (2, 3)
        assert torch.equal(model(model.features(wav)), logits)
        rebuilt = build_model(name, **model.config())
        rebuilt.load_state_dict(model.state_dict())
        assert torch.equal(rebuilt.eval()(wav), logits)
    assert model.config()["labels"] == LABELS


def test_model_refuses_bad_input():
    with pytest.raises(ConfigError, match="at least 2 labels"):
        build_model("cnn", labels=["only"])
    with pytest.raises(ConfigError, match=r"\(batch, samples\)"):
        small("cnn").features(torch.zeros(8000))


# --- transfer learning from a file the test writes ----------------------------------------------


def test_init_from_a_plain_state_dict_gives_identical_outputs(tmp_path):
    source, target = small("resnet", seed=1), small("resnet", seed=2)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    report = load_init(target, tmp_path / "w.pt")
    assert not (report.missing or report.unexpected or report.mismatched)
    wav = torch.randn(1, 8000)
    with torch.no_grad():
        assert torch.equal(target(wav), source(wav))


def test_init_with_other_classes_keeps_the_new_head(tmp_path):
    pretrained = small("cnn", labels=[f"c{i}" for i in range(7)], seed=1)
    torch.save({"model": pretrained.state_dict(), "step": 3}, tmp_path / "ckpt.pt")
    model = small("cnn", seed=2)
    head_before = model.head.weight.clone()
    report = load_init(model, tmp_path / "ckpt.pt")
    assert sorted(m.split(":")[0] for m in report.mismatched) == ["head.bias", "head.weight"]
    assert "(7, 8) vs model (3, 8)" in " ".join(report.mismatched)
    assert torch.equal(model.head.weight, head_before)  # shape differs: left as initialised
    body = "body.0.0.weight"
    assert torch.equal(model.state_dict()[body], pretrained.state_dict()[body])
    assert "shape differs" in "\n".join(report.lines())


def test_init_lists_missing_and_unexpected_keys_and_renames(tmp_path):
    source = small("cnn", seed=1)
    state = {
        f"module.encoder.{k[len('body.') :]}" if k.startswith("body.") else k: v
        for k, v in source.state_dict().items()
    }
    state["extra.weight"] = torch.zeros(3)
    del state["head.bias"]
    torch.save(state, tmp_path / "w.pt")
    model = small("cnn", seed=2)
    report = load_init(model, tmp_path / "w.pt", rename={"encoder.": "body."})
    assert report.unexpected == ["extra.weight"] and report.missing == ["head.bias"]
    assert torch.equal(model.body[0][0].weight, source.body[0][0].weight)
    with pytest.raises(AuralabError, match="does not fit the model exactly"):
        load_init(small("cnn"), tmp_path / "w.pt", rename={"encoder.": "body."}, strict=True)


def test_init_refuses_foreign_or_broken_files(tmp_path):
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "imagenet.pt")
    with pytest.raises(AuralabError, match="no tensor name matches.*init_rename"):
        load_init(small("cnn"), tmp_path / "imagenet.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(AuralabError, match="cannot be read as PyTorch weights"):
        load_init(small("cnn"), tmp_path / "junk.pt")
    torch.save({"lr": 0.1}, tmp_path / "nostate.pt")
    with pytest.raises(AuralabError, match="holds no state dict"):
        load_init(small("cnn"), tmp_path / "nostate.pt")
    with pytest.raises(AuralabError, match="no such weights file"):
        load_init(small("cnn"), tmp_path / "missing.pt")
