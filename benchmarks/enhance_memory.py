"""Peak memory and speed of `auralab enhance` on one long file, streamed from disk to disk.

Usage: python benchmarks/enhance_memory.py [--model NAME|CHECKPOINT] [--minutes 60] [--threads N]

Writes a synthetic 16 kHz file (the bundled example speech, looped) to a temporary folder,
enhances it with ``enhance_file`` and prints the peak resident memory the enhancement added, next
to what the decoded file would take in memory, and the real-time factor. Run on demand, not in CI.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch

from auralab.audio import load
from auralab.enhance.evaluate import example_dirs
from auralab.enhance.infer import describe_model, enhance_file
from auralab.enhance.pretrained import DEFAULT_MODEL, load_model

SR = 16000


def write_long_file(path: Path, minutes: float) -> int:
    """Loop the bundled example speech into a PCM_16 file, block by block; returns its frames."""
    noisy, _ = example_dirs()
    speech = torch.cat([load(p)[0] for p in sorted(noisy.glob("*.wav"))]).numpy()
    frames = round(minutes * 60 * SR)
    with sf.SoundFile(path, "w", SR, 1, "PCM_16") as f:
        for start in range(0, frames, speech.size):
            f.write(speech[: frames - start])
    return frames


def peak_rss(step) -> tuple[int, int]:
    """``(peak, growth)``: peak resident bytes while ``step()`` ran, and how far above the start."""
    if sys.platform.startswith("linux"):
        # Reset the kernel's peak mark first, so peaks from imports cannot hide this one.
        rss = _status("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        step()
        return _status("VmHWM"), _status("VmHWM") - rss
    import resource  # elsewhere: ru_maxrss (KiB on Linux, bytes on macOS), lifetime peak only

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return after, after - before


def _status(key: str) -> int:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key))
    return int(line.split()[1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped name or checkpoint")
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the test file")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model, args.device)
    print(describe_model(model, args.model, torch.device(args.device)))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "long.wav", Path(tmp) / "long_enhanced.wav"
        frames = write_long_file(src, args.minutes)
        warm = Path(tmp) / "warm.wav"
        write_long_file(warm, 0.5)
        enhance_file(model, warm, dst, device=args.device)  # first-call allocations, not per file
        start = time.perf_counter()
        peak, grew = peak_rss(lambda: enhance_file(model, src, dst, device=args.device))
        elapsed = time.perf_counter() - start
    seconds = frames / SR
    print(f"file: {seconds / 60:.1f} min at {SR} Hz, {frames * 4 / 2**20:.0f} MiB as float32")
    print(
        f"peak RSS while enhancing: {peak / 2**20:.0f} MiB, {grew / 2**20:.1f} MiB above the start"
    )
    print(f"time: {elapsed:.1f} s, real-time factor {elapsed / seconds:.4f}")


if __name__ == "__main__":
    main()
