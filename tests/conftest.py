"""Shared test fixtures.

Tests on real audio read ``../shared/data`` (or ``$AURALAB_SHARED_DATA``). Without it they skip
with the reason, except when ``AURALAB_REQUIRE_SHARED=1`` (set by ``.ci/run``): then a missing
folder is a failure, so CI can never pass by skipping every real-data test.
"""

import os
import random
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_data(*parts: str) -> Path:
    """Path inside the shared data folder; skips (or fails in CI) when it is absent."""
    root = Path(os.environ.get("AURALAB_SHARED_DATA", REPO.parent / "shared" / "data"))
    path = root.joinpath(*parts)
    if not path.exists():
        reason = f"shared data not found at {path} (set AURALAB_SHARED_DATA)"
        if os.environ.get("AURALAB_REQUIRE_SHARED") == "1":
            pytest.fail(reason + " and AURALAB_REQUIRE_SHARED=1")
        pytest.skip(reason)
    return path


def random_chunks(
    n: int, seed: int = 0, sizes: tuple[int, ...] = (1, 17, 112, 160, 333, 1024, 4000)
) -> list[slice]:
    """Slices cutting ``n`` samples into chunks of sizes drawn from ``sizes``, as a live input
    arrives: what every streaming parity test feeds its stream."""
    rng, out, i = random.Random(seed), [], 0
    while i < n:
        size = rng.choice(sizes)
        out.append(slice(i, i + size))
        i += size
    return out


@pytest.fixture
def vbd_test10() -> Path:
    """10 VoiceBank-DEMAND test pairs: ``noisy/``, ``clean/``, ``noisy_24k/``."""
    return shared_data("pairs", "vbd-test10")


@pytest.fixture(scope="module")
def one_thread():
    # Small models on a busy 2-core machine: a second intra-op thread mostly waits (10x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
