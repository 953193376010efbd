"""Behaviour of every registered enhancement model: shapes, bounded masks, causality, cost,
trainability and checkpoint round trips. Random audio only, so the whole file runs in seconds."""

import warnings

import pytest
import torch

from auralab.enhance.losses import LOSSES
from auralab.enhance.models import MODELS, MaskingEnhancer, build_model
from auralab.enhance.models.blocks import count_macs_per_second
from auralab.enhance.pretrained import load_model
from auralab.errors import ConfigError
from auralab.train.checkpoint import save_checkpoint

SR = 16000
LENGTH = SR // 2 + 37  # half a second, deliberately not a multiple of any hop
NAMES = MODELS.names()
# Non-default switches that change what a model computes, tested alongside the defaults.
VARIANTS = [("dpt", {"causal_time": True}), ("bsrnn", {"causal": False})]
CASES = [(name, {}) for name in NAMES] + VARIANTS
# Models of this file known to be offline: the causality test must be able to see them cheat.
OFFLINE = {("cnn_transformer", ()), ("dpt", ()), ("bsrnn", (("causal", False),))}


def case_id(case) -> str:
    name, kwargs = case
    return name + "".join(f"-{k}={v}" for k, v in kwargs.items())


def noise(length: int = LENGTH, batch: int = 1, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(batch, length, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mask", ["crm", "mag"])
@pytest.mark.parametrize("name", NAMES)
def test_forward_keeps_length_and_is_finite(name, mask):
    torch.manual_seed(0)
    model = build_model(name, mask=mask)
    x = noise(batch=2)
    y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["crn", "cnn_transformer", "dpt"])
def test_conv_models_take_other_stft_sizes(name):
    # n_fft=400 gives 201 bins: odd and even sizes on the way down, crops on the way up.
    model = build_model(name, n_fft=400, hop=100)
    assert model(noise()).shape == (1, LENGTH)


def test_bsrnn_refuses_band_widths_that_miss_bins():
    with pytest.raises(ConfigError, match="band_widths"):
        build_model("bsrnn", n_fft=256, hop=128)
    model = build_model("bsrnn", band_widths=[64, 65], n_fft=256, hop=128)
    assert model(noise()).shape == (1, LENGTH)


class SaturatedMasker(MaskingEnhancer):
    """Stub whose masker emits huge logits, constant or random: the mask's bound is all that
    stands between the input and an amplified output."""

    def __init__(self, logits: float = 1e4, random: bool = False, mask: str = "crm"):
        super().__init__(mask=mask)
        self.logits = logits
        self.random = random

    def masker(self, spec):
        shape = (spec.shape[0], 2, *spec.shape[1:])  # (B, 2, F, N)
        if self.random:
            gen = torch.Generator().manual_seed(1)
            return self.logits * (2 * torch.rand(shape, generator=gen) - 1)
        return torch.full(shape, self.logits)


@pytest.mark.parametrize("logits,random", [(1e4, False), (-1e4, False), (1e3, True)])
def test_crm_never_amplifies_even_with_saturated_logits(logits, random):
    x = noise(batch=3) + torch.sin(torch.arange(LENGTH) * 0.05)
    y = SaturatedMasker(logits, random)(x)
    ratio = y.square().sum(-1) / x.square().sum(-1)
    assert (ratio <= 1 + 1e-5).all(), ratio
    if not random:  # a constant |m| ~ 1 only rotates the phase: the energy is all kept
        assert (ratio > 0.95).all(), ratio


def test_saturated_magnitude_mask_returns_the_input():
    x = noise(batch=2)
    torch.testing.assert_close(SaturatedMasker(mask="mag")(x), x, atol=1e-5, rtol=0)


def past_change(model: MaskingEnhancer, k: int = LENGTH // 2) -> float:
    """Largest change of outputs before ``k - window`` when the input changes from sample k."""
    window = model.stft.win_length or model.stft.n_fft
    x = noise()
    x_changed = x.clone()
    x_changed[:, k:] = noise(LENGTH - k, seed=1)
    with torch.no_grad():
        diff = model(x) - model(x_changed)
    return float(diff[:, : k - window].abs().max())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_causal_models_ignore_the_future(case):
    name, kwargs = case
    torch.manual_seed(0)
    model = build_model(name, **kwargs).eval()
    if model.causal:
        assert past_change(model) <= 1e-5
    elif (name, tuple(kwargs.items())) in OFFLINE:
        # The same probe must catch an offline model, or it proves nothing for the causal ones.
        assert past_change(model) > 1e-4
    else:
        pytest.skip(f"{name} is not causal")


def macs_with_lstms(model) -> float:
    # oneDNN's fused LSTM kernel is invisible to torch's FLOP counter; the reference path is not.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a TF32 notice from toggling oneDNN
        with torch.backends.mkldnn.flags(enabled=False):
            return count_macs_per_second(model, SR)


def test_every_model_reports_params_and_macs():
    rows = []
    for name, kwargs in CASES:
        model = build_model(name, **kwargs)
        params, macs = model.num_params(), count_macs_per_second(model, SR)
        assert params > 0 and macs > 0
        rows.append(
            f"{case_id((name, kwargs)):<24}{params:>10,}{macs / 1e6:>10.1f}"
            f"{macs_with_lstms(model) / 1e6:>14.1f}{str(model.causal):>8}"
        )
    header = f"{'model':<24}{'params':>10}{'MMAC/s':>10}{'+LSTM MMAC/s':>14}{'causal':>8}"
    print("\n".join([header, *rows]))


def test_mac_counter_counts_lstms():
    model = build_model("crn")
    assert count_macs_per_second(model, SR) == pytest.approx(macs_with_lstms(model))


def test_tiny_stays_within_its_budget():
    model = build_model("tiny")
    assert model.num_params() <= 50_000
    assert count_macs_per_second(model, SR) <= 60e6


def speech_like_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(noisy, clean), each (2, LENGTH): amplitude-modulated harmonics in white noise, 0 dB."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(LENGTH) / SR
    f0 = torch.tensor([[140.0], [210.0]])
    clean = sum(torch.sin(2 * torch.pi * h * f0 * t) / h for h in range(1, 8))
    clean = clean * (1 + torch.sin(2 * torch.pi * 3 * t)) * 0.1  # syllable-rate envelope
    noisy = clean + clean.std() * torch.randn(clean.shape, generator=gen)
    return noisy, clean


@pytest.mark.parametrize("name", NAMES)
def test_a_few_training_steps_lower_the_si_sdr_loss(name):
    torch.manual_seed(0)
    model = build_model(name)
    loss_fn = LOSSES.build("si_sdr")
    noisy, clean = speech_like_batch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):  # the loss before each of 3 steps, then after the last
        loss = loss_fn(model(noisy), clean)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_checkpoint_round_trip_gives_identical_outputs(case, tmp_path):
    name, kwargs = case
    torch.manual_seed(0)
    model = build_model(name, **kwargs)
    x = noise(batch=2)
    with torch.no_grad():
        model(x)  # one train-mode pass moves BatchNorm statistics off their defaults
    model.eval()
    path = tmp_path / "model.pt"
    save_checkpoint(
        path, {"model_name": name, "model_config": model.config(), "model": model.state_dict()}
    )
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.config() == model.config()
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
