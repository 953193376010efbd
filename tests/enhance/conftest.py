"""Fixtures shared by the enhancement tests."""

import pytest
import torch

from auralab.enhance.models import build_model


@pytest.fixture(scope="module")
def tiny():
    """A seeded, untrained ``tiny`` in eval mode."""
    torch.manual_seed(0)
    return build_model("tiny").eval()
