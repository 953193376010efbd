"""EQ models and losses: contrastive loss against a direct reference, schedules, term stats."""

import math

import pytest
import torch

from auralab.eq.config import EqLossConfig
from auralab.eq.models import EqLoss, build_model, supervised_contrastive
from auralab.eq.models.losses import ramp
from auralab.errors import ConfigError

TERMS = ["warm", "bright", "airy"]


def _reference_supcon(z, labels, temperature):
    # Khosla et al. (2020), eq. 2, written as loops.
    u = torch.nn.functional.normalize(z, dim=-1)
    losses = []
    for i in range(len(z)):
        positives = [p for p in range(len(z)) if p != i and labels[p] == labels[i]]
        if not positives:
            continue
        denom = sum(math.exp(float(u[i] @ u[a]) / temperature) for a in range(len(z)) if a != i)
        terms = [float(u[i] @ u[p]) / temperature - math.log(denom) for p in positives]
        losses.append(-sum(terms) / len(positives))
    return sum(losses) / len(losses)


def test_supervised_contrastive_matches_the_reference():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(12, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 0, 1, 3, 2, 0, 1])  # label 3 has no positive
    ours = supervised_contrastive(z, labels, 0.2)
    assert float(ours) == pytest.approx(_reference_supcon(z, labels, 0.2), rel=1e-10)


def test_supervised_contrastive_prefers_clustered_latents():
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    clustered = torch.tensor([[1.0, 0], [1, 0.1], [1, -0.1], [-1, 0], [-1, 0.1], [-1, -0.1]])
    mixed = clustered[[0, 3, 1, 4, 2, 5]]
    assert supervised_contrastive(clustered, labels) < supervised_contrastive(mixed, labels)
    assert float(supervised_contrastive(clustered, torch.arange(6))) == 0.0  # no positives


def test_contrastive_weight_ramps_in():
    assert [ramp(s, 100, 300) for s in (0, 100, 200, 300, 900)] == [0, 0, 0.5, 1, 1]
    loss = EqLoss(EqLossConfig(contrastive=0.4, contrastive_start=10, contrastive_end=20))
    assert loss.weights(5)["contrastive"] == 0 and loss.weights(15)["contrastive"] == 0.2


def _batch(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"params": torch.rand(n, 13, generator=g), "term": torch.arange(n) % 2}


def test_loss_counts_training_steps_and_every_term_has_a_gradient():
    model = build_model("semantic_ae", terms=TERMS)
    cfg = EqLossConfig(response=1.0, term_response=1.0, contrastive=0.1, contrastive_end=2)
    loss, logs = EqLoss(cfg)(model, _batch())
    assert set(logs) >= {"params", "response", "term_response", "contrastive"}
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert int(model.steps) == 1
    model.eval()
    EqLoss(cfg)(model, _batch())
    assert int(model.steps) == 1  # validation does not advance schedules


def test_beta_vae_samples_in_training_and_uses_the_mean_in_eval():
    model = build_model("beta_vae", terms=TERMS)
    x = torch.rand(8, 13)
    out = model.encode(x)
    assert set(out) == {"z", "mu", "logvar"} and not torch.equal(out["z"], out["mu"])
    model.eval()
    assert torch.equal(model.encode(x)["z"], model.latent(x))
    _, logs = EqLoss(EqLossConfig(kl=0.1))(model.train(), _batch())
    assert logs["kl"] > 0


def test_term_stats_are_the_latent_mean_of_each_term():
    model = build_model("semantic_ae", terms=TERMS).eval()
    batch = _batch(20)
    model.fit_term_stats(batch["params"], batch["term"])
    z = model.latent(batch["params"])
    assert torch.allclose(model.term_mean[1], z[batch["term"] == 1].mean(0), atol=1e-6)
    assert torch.equal(model.term_mean[2], torch.zeros(model.latent_dim))  # no rows: untouched
    one = model.one_hot(torch.tensor([0]))
    assert torch.allclose(model.generate(one), model.decode(model.term_mean[:1], one))


def test_a_model_rebuilds_from_its_name_config_and_state():
    model = build_model("semantic_ae", terms=TERMS, latent_dim=3).eval()
    model.fit_term_stats(*_batch(20).values())
    again = build_model("semantic_ae", **model.config())
    again.load_state_dict(model.state_dict())
    weights = model.mix("warm", "bright", torch.linspace(0, 1, 4))
    assert torch.equal(again.eval().generate(weights), model.generate(weights))


def test_unknown_term_lists_close_matches():
    model = build_model("semantic_ae", terms=TERMS)
    assert model.term_index(" Warm ") == 0
    with pytest.raises(ConfigError, match=r"unknown EQ term 'brigth'; close matches: bright"):
        model.term_index("brigth")


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown eq model 'vae'; known: beta_vae, semantic_ae"):
        build_model("vae", terms=TERMS)
