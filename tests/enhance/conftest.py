"""Fixtures shared by the enhancement tests."""

import pytest
import torch

from auralab.enhance.models import build_model


@pytest.fixture(scope="module")
def one_thread():
    # Small models on a busy 2-core machine: a second intra-op thread mostly waits (10x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny():
    """A seeded, untrained ``tiny`` in eval mode."""
    torch.manual_seed(0)
    return build_model("tiny").eval()
