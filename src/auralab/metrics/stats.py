"""Summary statistics for per-file metric values: means with confidence intervals, and paired
deltas against the unprocessed baseline with a bootstrap interval."""

import math

import numpy as np
from scipy import stats as _stats

FEW_FILES = 10  # below this a t-interval or percentile bootstrap is no real 95 % interval


def mean_ci(values, confidence: float = 0.95) -> dict:
    """Mean, sample standard deviation and Student-t confidence interval.

    Args:
        values: per-file scores; NaN entries (e.g. PESQ on a silent file) are left out and
            counted in ``n_nan`` so they are never silently averaged as zeros.
        confidence: interval coverage.

    Returns:
        ``{"mean", "std", "ci95": [lo, hi], "n", "n_nan"}`` (``ci95`` is named for the default).
    """
    x = np.asarray(values, dtype=np.float64)
    ok = x[np.isfinite(x)]
    n = int(ok.size)
    if n == 0:
        return {
            "mean": math.nan,
            "std": math.nan,
            "ci95": [math.nan, math.nan],
            "n": 0,
            "n_nan": int(x.size),
        }
    mean = float(ok.mean())
    std = float(ok.std(ddof=1)) if n > 1 else math.nan
    half = (
        float(_stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    )
    return {
        "mean": mean,
        "std": std,
        "ci95": [mean - half, mean + half],
        "n": n,
        "n_nan": int(x.size - n),
    }


def paired_bootstrap(
    system, baseline, n_boot: int = 10000, seed: int = 0, confidence: float = 0.95
) -> dict:
    """Mean paired difference ``system - baseline`` with a percentile bootstrap interval.

    Files are resampled with replacement as pairs, so the interval reflects per-file variation
    in the improvement rather than in the scores themselves.

    Returns:
        ``{"mean", "ci95": [lo, hi], "n", "p_improved"}``; ``p_improved`` is the fraction of
        files where the system scores higher than the baseline.
    """
    s = np.asarray(system, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if s.shape != b.shape:
        raise ValueError(f"paired_bootstrap: {s.shape} system vs {b.shape} baseline scores")
    d = (s - b)[np.isfinite(s) & np.isfinite(b)]
    if d.size == 0:
        return {"mean": math.nan, "ci95": [math.nan, math.nan], "n": 0, "p_improved": math.nan}
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {
        "mean": float(d.mean()),
        "ci95": [float(lo), float(hi)],
        "n": int(d.size),
        "p_improved": float((d > 0).mean()),
    }
