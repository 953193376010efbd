"""Files per second of `auralab evaluate` with 1 process and with all cores, on the same files.

Usage: python benchmarks/evaluate_speed.py [PAIRS_DIR]   (default ../shared/data/pairs/vbd-test10)
Prints both rates and their ratio, measured in this one run.
"""

import os
import sys
import time
from pathlib import Path

from auralab.enhance.evaluate import evaluate, find_jobs


def rate(jobs, workers: int) -> float:
    start = time.perf_counter()
    result = evaluate(jobs, workers=workers, progress=False)
    elapsed = time.perf_counter() - start
    assert not result.failures, result.failures
    return len(jobs) / elapsed


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/pairs/vbd-test10")
    jobs, missing = find_jobs(root / "noisy", root / "clean")
    assert not missing, missing
    cores = os.cpu_count() or 1
    evaluate(jobs[:1], workers=1, progress=False)  # warm imports and caches
    one = rate(jobs, 1)
    many = rate(jobs, cores)
    print(f"files: {len(jobs)} from {root}")
    print(f"1 process:        {one:6.2f} files/s")
    print(f"{cores} processes:      {many:6.2f} files/s")
    print(f"speed-up:         {many / one:6.2f}x (ideal {cores}x)")


if __name__ == "__main__":
    main()
