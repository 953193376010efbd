"""Augmentations do what they say: measured levels, frequencies, lengths and masks."""

import math

import numpy as np
import pytest
import torch

from auralab.classify.augment import (
    AugmentConfig,
    Augmenter,
    add_noise,
    gain,
    mix_background,
    mixup,
    pitch_shift,
    spec_augment,
    time_shift,
    time_stretch,
)
from auralab.errors import ConfigError

SR = 8000


def sine(freq: float, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return torch.sin(2 * math.pi * freq * t)


def peak_hz(x: torch.Tensor) -> float:
    spectrum = np.abs(np.fft.rfft(x.numpy() * np.hanning(x.numel())))
    return float(np.fft.rfftfreq(x.numel(), 1 / SR)[spectrum.argmax()])


def test_gain_and_noise_levels():
    x = torch.randn(3, SR)
    assert torch.allclose(
        gain(x, torch.tensor([0.0, 20.0, -20.0])), x * torch.tensor([[1], [10], [0.1]])
    )
    torch.manual_seed(0)
    noisy = add_noise(x, torch.tensor([0.0, 10.0, 30.0]))
    snr = 10 * torch.log10(x.square().mean(1) / (noisy - x).square().mean(1))
    assert snr.tolist() == pytest.approx([0.0, 10.0, 30.0], abs=0.2)


def test_time_shift_is_a_circular_roll():
    x = torch.arange(10.0).repeat(2, 1)
    out = time_shift(x, torch.tensor([3, -2]))
    assert torch.equal(out[0], torch.roll(x[0], 3)) and torch.equal(out[1], torch.roll(x[1], -2))


def test_time_stretch_changes_length_not_pitch():
    x = sine(440.0)
    for rate in (0.8, 1.25):
        y = time_stretch(x, rate)
        assert y.numel() == round(SR / rate)
        assert peak_hz(y) == pytest.approx(440.0, abs=10)


def test_pitch_shift_changes_pitch_not_length():
    y = pitch_shift(sine(440.0), 12.0)  # one octave up
    assert y.numel() == SR
    assert peak_hz(y) == pytest.approx(880.0, abs=15)


def test_background_is_mixed_at_the_asked_snr():
    x = torch.randn(2, SR)
    bg = [torch.randn(SR // 3)]  # shorter than the clip: looped
    torch.manual_seed(0)
    out = mix_background(x, bg, torch.tensor([5.0, 20.0]))
    snr = 10 * torch.log10(x.square().mean(1) / (out - x).square().mean(1))
    assert snr.tolist() == pytest.approx([5.0, 20.0], abs=0.01)


def test_spec_augment_masks_with_the_item_mean():
    torch.manual_seed(0)
    feats = torch.randn(4, 16, 50)
    out = spec_augment(feats, freq_masks=1, freq_width=4, time_masks=1, time_width=10)
    changed = out != feats
    assert changed.any()
    fill = feats.mean(dim=(1, 2))
    for b in range(4):
        assert torch.all(out[b][changed[b]] == fill[b])


def test_mixup_mixes_powers_and_targets():
    torch.manual_seed(0)
    feats = torch.randn(6, 8, 10)
    targets = torch.eye(3)[[0, 1, 2, 0, 1, 2]]
    _, soft = mixup(feats, targets, alpha=0.4)
    assert torch.allclose(soft.sum(1), torch.ones(6))
    assert (soft.max(1).values >= 0.5).all()  # each item keeps its own label on top
    # mixing is in the power domain: items of constant power c_b mix to a power within the
    # range of the c_b, and a sound mixed with itself keeps its log-mel exactly
    levels = torch.log(torch.arange(1.0, 7.0))[:, None, None].expand(6, 8, 10)
    mixed, _ = mixup(levels, targets, alpha=0.4)
    assert torch.all((mixed.exp() >= 1 - 1e-5) & (mixed.exp() <= 6 + 1e-5))
    same, _ = mixup(feats[:1].expand(6, 8, 10), targets, alpha=0.4)
    assert torch.allclose(same, feats[:1].expand(6, 8, 10), atol=1e-5)


def test_augmenter_with_everything_off_is_identity_and_on_changes_batches():
    off = AugmentConfig(p_gain=0, p_noise=0, p_shift=0, p_specaugment=0, p_mixup=0)
    aug = Augmenter(off, SR)
    x, feats, t = torch.randn(4, SR), torch.randn(4, 16, 20), torch.eye(4)
    assert torch.equal(aug.waveform(x), x)
    f2, t2 = aug.spectrogram(feats, t)
    assert torch.equal(f2, feats) and torch.equal(t2, t)
    on = AugmentConfig(p_gain=1, p_noise=1, p_shift=1, p_pitch=1, p_stretch=1, p_specaugment=1)
    torch.manual_seed(0)
    y = Augmenter(on, SR).waveform(x)
    assert y.shape == x.shape and not torch.allclose(y, x)


def test_bad_augment_config_names_the_key():
    with pytest.raises(ConfigError, match="augment.p_noise"):
        AugmentConfig(p_noise=1.5)
    with pytest.raises(ConfigError, match="background_dirs"):
        AugmentConfig(p_background=0.5)
