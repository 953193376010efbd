"""Evaluation metrics implemented here, checked against hand-computed values."""

import numpy as np
import pytest
import torch

from auralab.eq.evaluate import DescriptorClassifier, silhouette_score, spectral_centroid
from auralab.eq.normalise import normalise


def test_silhouette_matches_hand_computed_values():
    # Rousseeuw's definition; a point alone in its cluster scores 0 (as scikit-learn does).
    x = np.array([[0.0], [1.0], [4.0]])
    assert silhouette_score(x, np.array([0, 0, 1])) == pytest.approx((3 / 4 + 2 / 3 + 0) / 3)
    x = np.array([[0.0], [2.0], [10.0], [12.0]])
    assert silhouette_score(x, np.array([0, 0, 1, 1])) == pytest.approx((9 / 11 + 7 / 9) / 2)
    assert silhouette_score(x, np.array([0, 1, 0, 1])) < 0


def test_spectral_centroid_of_tones():
    sr = 44100
    t = np.arange(sr) / sr
    assert spectral_centroid(np.sin(2 * np.pi * 1000 * t), sr) == pytest.approx(1000, abs=2)
    two = np.sin(2 * np.pi * 500 * t) + np.sin(2 * np.pi * 1500 * t)
    stereo = np.stack([two, two])
    assert spectral_centroid(stereo, sr) == pytest.approx(1000, abs=2)


def test_descriptor_classifier_tells_bass_from_treble_boosts():
    g = torch.Generator().manual_seed(0)
    n = 40
    params = torch.zeros(2 * n, 13, dtype=torch.float64)
    params[:, [1, 12]] = torch.tensor([100.0, 5000.0], dtype=torch.float64)
    params[:, [3, 6, 9]] = torch.tensor([500.0, 1000.0, 3000.0], dtype=torch.float64)
    params[:, [4, 7, 10]] = 1.0
    params[:n, 0] = 3 + 6 * torch.rand(n, generator=g, dtype=torch.float64)  # low shelf up
    params[n:, 11] = 3 + 6 * torch.rand(n, generator=g, dtype=torch.float64)  # high shelf up
    labels = torch.arange(2 * n) // n
    judge = DescriptorClassifier(2).fit(normalise(params).float(), labels)
    assert torch.equal(judge.predict(normalise(params).float()), labels)
