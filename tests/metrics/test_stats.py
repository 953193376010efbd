import math

import numpy as np
import pytest
from scipy import stats

from auralab.metrics.stats import mean_ci, paired_bootstrap


def test_mean_ci_matches_scipy_t_interval_and_skips_nan():
    x = [2.1, 2.5, 1.9, 3.0, 2.2]
    s = mean_ci(x + [math.nan])
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert s["n"] == 5 and s["n_nan"] == 1
    assert s["mean"] == pytest.approx(np.mean(x))
    assert s["ci95"] == pytest.approx([lo, hi])


def test_paired_bootstrap_sees_a_consistent_small_gain():
    rng = np.random.default_rng(0)
    base = rng.normal(2.0, 0.5, 50)  # large spread between files...
    system = base + 0.1 + rng.normal(0, 0.02, 50)  # ...but every file improves by ~0.1
    d = paired_bootstrap(system, base)
    assert d["mean"] == pytest.approx(0.1, abs=0.01)
    assert 0 < d["ci95"][0] < 0.1 < d["ci95"][1] < 0.12
    assert d["p_improved"] == 1.0
    assert paired_bootstrap(system, base) == d  # seeded: reproducible


def test_paired_bootstrap_refuses_unpaired_lengths():
    with pytest.raises(ValueError, match="system vs"):
        paired_bootstrap([1.0, 2.0], [1.0])
