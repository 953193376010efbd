"""Fixed physical bounds: exact round trips at the bounds, and nothing generated leaves them."""

import math

import pytest
import torch

from auralab.eq.models import build_model
from auralab.eq.normalise import (
    KINDS,
    PARAM_NAMES,
    denormalise,
    lower_bounds,
    normalise,
    outside_bounds,
    scale_gains,
    upper_bounds,
)

TERMS = ["warm", "bright", "airy"]


def test_bounds_are_the_physical_ones():
    expected = {"gain": (-12.0, 12.0), "freq": (20.0, 20000.0), "q": (0.1, 10.0)}
    for name, kind, lo, hi in zip(PARAM_NAMES, KINDS, lower_bounds(), upper_bounds(), strict=True):
        assert (float(lo), float(hi)) == expected[kind], name


def test_bounds_map_to_0_and_1_and_round_trip_exactly():
    lo, hi = lower_bounds(), upper_bounds()
    assert torch.allclose(normalise(lo), torch.zeros(13, dtype=torch.float64), atol=1e-15)
    assert torch.allclose(normalise(hi), torch.ones(13, dtype=torch.float64), atol=1e-15)
    assert torch.equal(denormalise(torch.zeros(13)), lo.float())
    assert torch.equal(denormalise(torch.ones(13, dtype=torch.float64)), hi)


def test_log_axes_put_geometric_midpoints_at_one_half():
    mid = denormalise(torch.full((13,), 0.5, dtype=torch.float64))
    for value, kind in zip(mid.tolist(), KINDS, strict=True):
        expected = {"gain": 0.0, "freq": math.sqrt(20 * 20000), "q": 1.0}[kind]
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_random_settings_round_trip():
    g = torch.Generator().manual_seed(0)
    unit = torch.rand(1000, 13, generator=g, dtype=torch.float64)
    assert torch.allclose(normalise(denormalise(unit)), unit, atol=1e-12)


def test_values_outside_the_bounds_are_flagged():
    x = lower_bounds().clone()
    x[1] = 19.0  # low-shelf frequency below 20 Hz
    x[4] = 0.10000000149  # SAFE's float32 Q at the bound is forgiven
    flags = outside_bounds(x)
    assert flags.tolist() == [i == 1 for i in range(13)]


@pytest.mark.parametrize("name", ["semantic_ae", "beta_vae"])
def test_nothing_generated_ever_leaves_the_bounds(name):
    # Property test: extreme latents, random term mixes and every strength stay valid settings.
    torch.manual_seed(0)
    model = build_model(name, terms=TERMS).eval()
    with torch.no_grad():
        for p in model.parameters():  # large weights push the sigmoid into saturation
            p.mul_(20)
        g = torch.Generator().manual_seed(1)
        z = torch.randn(4000, model.latent_dim, generator=g) * torch.logspace(-2, 6, 4000)[:, None]
        weights = torch.distributions.Dirichlet(torch.ones(len(TERMS))).sample((4000,))
        strength = torch.rand(4000, 1, generator=g)
        settings = denormalise(scale_gains(model.generate(weights, z), strength))
    assert torch.isfinite(settings).all()
    assert (settings >= lower_bounds().float()).all() and (settings <= upper_bounds().float()).all()
    assert not outside_bounds(settings).any()


def test_strength_scales_gains_only():
    unit = torch.rand(5, 13, dtype=torch.float64)
    flat = denormalise(scale_gains(unit, 0.0))
    full = denormalise(scale_gains(unit, 1.0))
    gain = torch.tensor([k == "gain" for k in KINDS])
    assert torch.allclose(flat[:, gain], torch.zeros_like(flat[:, gain]), atol=1e-12)
    assert torch.allclose(full, denormalise(unit))
    assert torch.allclose(flat[:, ~gain], full[:, ~gain])
