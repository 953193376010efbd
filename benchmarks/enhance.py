"""Speech-enhancement benchmark: auralab models beside RNNoise and DeepFilterNet3, in one run.

Usage:
    python benchmarks/enhance.py [--pairs DIR] [--models tiny,...] [--checkpoint NAME=PATH ...]
                                 [--threads 1] [--json PATH]

Scores the noisy input, every auralab model with weights (shipped in ``registry.toml`` or given
with ``--checkpoint``), every registered architecture without weights (size, MACs and speed
only: its scores read "untrained"), and the peers when ``pip install -e ".[peers]"`` is done.
Peers run as in ``shared/PEERS.md``: 16 kHz -> soxr VHQ -> 48 kHz -> system -> delay removed
-> soxr VHQ -> 16 kHz. All systems are timed on the same thread count (default 1), resampling
included; scores are PESQ-wb, STOI, ESTOI and SI-SDR against the 16 kHz clean files.
"""

import os
import sys


def _threads_from_argv(argv: list[str]) -> str:
    """``--threads N`` read ahead of argparse: thread pools are sized when numpy/torch load."""
    for i, arg in enumerate(argv):
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
    return "1"


for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = _threads_from_argv(sys.argv[1:])

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from auralab import __version__  # noqa: E402
from auralab.audio import load, resample  # noqa: E402
from auralab.enhance.evaluate import find_jobs  # noqa: E402
from auralab.enhance.models import MODELS, build_model  # noqa: E402
from auralab.enhance.models.blocks import count_macs_per_second  # noqa: E402
from auralab.enhance.pretrained import load_model, registry  # noqa: E402
from auralab.errors import AuralabError, ConfigError, DataError  # noqa: E402
from auralab.metrics import estoi, pesq, si_sdr, stoi  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import PEERS_EXTRA, load_peers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SR = 16000  # rate of the pairs and of every score
METRICS = {"pesq_wb": "PESQ-wb", "stoi": "STOI", "estoi": "ESTOI", "si_sdr": "SI-SDR dB"}


@dataclass
class Pair:
    name: str
    noisy: np.ndarray  # (T,) float32 at 16 kHz
    clean: np.ndarray  # (T,) float32 at 16 kHz


@dataclass
class Result:
    """One row of the table: a system's size, cost, speed and mean scores."""

    name: str
    kind: str  # "input", "auralab" or "peer"
    weights: str  # "–", "shipped", "checkpoint", "untrained" or "bundled"
    params: int | None = None
    params_source: str = ""
    macs_per_second: float | None = None
    macs_source: str = ""
    rtf: float | None = None  # wall-clock processing time / audio duration
    rtf_cpu: float | None = None  # the same in CPU time: robust to a busy machine
    scores: dict[str, float] | None = None  # mean over files; None when untrained
    per_file: dict[str, dict[str, float]] = field(default_factory=dict)


def default_pairs() -> Path:
    data = os.environ.get("AURALAB_SHARED_DATA")
    root = Path(data) if data else REPO.parent / "shared" / "data"
    return root / "pairs" / "vbd-test10"


def load_pairs(root: Path) -> list[Pair]:
    """Noisy/clean pairs at 16 kHz, matched by relative path; refuses anything else."""
    jobs, missing = find_jobs(root / "noisy", root / "clean")
    if missing:
        raise DataError(f"{root}: unpaired files: {', '.join(f for f, _ in missing)}")
    pairs = []
    for noisy_path, clean_path, _ in jobs:
        noisy, sr_n = load(noisy_path, mono="strict")
        clean, sr_c = load(clean_path, mono="strict")
        if (sr_n, sr_c) != (SR, SR) or noisy.numel() != clean.numel():
            raise DataError(f"{noisy_path}: needs a 16 kHz pair of equal length")
        pairs.append(Pair(Path(noisy_path).name, noisy.numpy(), clean.numpy()))
    return pairs


def score(preds: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    return {
        "pesq_wb": pesq(preds, clean, SR, "wb"),
        "stoi": stoi(preds, clean, SR),
        "estoi": estoi(preds, clean, SR),
        "si_sdr": si_sdr(preds, clean, SR),
    }


def run_system(result: Result, enhance, pairs: list[Pair], scored: bool = True) -> Result:
    """Time ``enhance(noisy_16k) -> enhanced_16k`` on every pair and score its outputs.

    ``enhance`` may have a ``reset`` attribute, called untimed before each file. The first
    file is run once untimed to warm caches and lazy initialisation.
    """
    reset = getattr(enhance, "reset", lambda: None)
    reset()
    enhance(pairs[0].noisy)
    wall = cpu = 0.0
    for pair in pairs:
        reset()
        start, start_cpu = time.perf_counter(), time.process_time()
        out = enhance(pair.noisy)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        if out.shape != pair.noisy.shape:
            raise RuntimeError(f"{result.name}: {out.shape} samples out for {pair.noisy.shape}")
        if scored:
            result.per_file[pair.name] = score(out, pair.clean)
    audio_s = sum(p.noisy.size for p in pairs) / SR
    result.rtf, result.rtf_cpu = wall / audio_s, cpu / audio_s
    if scored:
        result.scores = mean_scores(result.per_file)
    return result


def mean_scores(per_file: dict[str, dict[str, float]]) -> dict[str, float]:
    # A NaN (PESQ found no speech) stays visible in the mean rather than being dropped.
    return {m: float(np.mean([s[m] for s in per_file.values()])) for m in METRICS}


class ModelRunner:
    """An auralab model as ``enhance(noisy_16k)``, resampling around it if it runs elsewhere."""

    def __init__(self, model: torch.nn.Module):
        self.model = model.eval()

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        x = resample(torch.from_numpy(wav), SR, self.model.sr)
        with torch.inference_mode():
            y = self.model(x[None])[0]
        return resample(y, self.model.sr, SR).numpy()


class PeerRunner:
    """A 48 kHz peer as ``enhance(noisy_16k)``: soxr VHQ up, the system, soxr VHQ down."""

    def __init__(self, peer):
        self.peer = peer
        self.reset = peer.reset

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        up = resample(torch.from_numpy(wav).double(), SR, self.peer.sr).numpy()
        out = self.peer.process(up.astype(np.float32))
        return resample(torch.from_numpy(out).double(), self.peer.sr, SR).numpy()


def auralab_models(args) -> list[tuple[str, str, torch.nn.Module]]:
    """``(name, weights, model)`` for shipped, checkpoint and untrained models, as selected."""
    wanted = set(args.models.split(",")) if args.models else None
    shipped = list(registry())
    known = set(shipped) | set(MODELS.names())
    if wanted and wanted - known:
        raise ConfigError(
            f"--models: unknown {', '.join(sorted(wanted - known))}; "
            f"known: {', '.join(sorted(known))}"
        )
    chosen = [(n, "shipped", load_model(n)) for n in shipped if not wanted or n in wanted]
    for spec in args.checkpoint:
        name, _, path = spec.partition("=")
        if not name or not path:
            raise ConfigError(f"--checkpoint {spec!r}: use NAME=PATH")
        if name in {n for n, _, _ in chosen}:
            raise ConfigError(f"--checkpoint {name}: name already used; pick another")
        chosen.append((name, "checkpoint", load_model(path)))
    trained = {architecture(m) for _, _, m in chosen}
    for name in MODELS.names():
        if name not in trained and (not wanted or name in wanted):
            chosen.append((name, "untrained", build_model(name)))
    return chosen


def architecture(model: torch.nn.Module) -> str:
    return next((n for n in MODELS.names() if type(model) is MODELS.get(n)), "?")


def run_all(args, pairs: list[Pair]) -> tuple[list[Result], list[str]]:
    """Every system's result, and notes on what was skipped."""
    results, notes = [], []
    models = auralab_models(args)
    peers, missing = load_peers()
    if missing:
        notes.append(f"peers skipped ({'; '.join(missing)}): {PEERS_EXTRA}")
        progress(notes[-1])
    total = 1 + len(models) + len(peers)

    progress(f"[1/{total}] noisy input: scoring {len(pairs)} files")
    noisy = Result("noisy input", "input", "–")
    noisy.per_file = {p.name: score(p.noisy, p.clean) for p in pairs}
    noisy.scores = mean_scores(noisy.per_file)
    results.append(noisy)

    for i, (name, weights, model) in enumerate(models, start=2):
        progress(f"[{i}/{total}] {name} ({weights}): {len(pairs)} files")
        result = Result(name, "auralab", weights, params=model.num_params())
        result.params_source = "counted"
        result.macs_per_second = count_macs_per_second(model, model.sr)
        result.macs_source = "torch FLOP counter / 2"
        results.append(run_system(result, ModelRunner(model), pairs, weights != "untrained"))

    for i, peer in enumerate(peers, start=2 + len(models)):
        progress(f"[{i}/{total}] {peer.name} (peer, {peer.sr} Hz, delay {peer.delay} samples)")
        result = Result(peer.name, "peer", "bundled", peer.params, peer.params_source)
        result.macs_per_second, result.macs_source = peer.macs_per_second, peer.macs_source
        results.append(run_system(result, PeerRunner(peer), pairs))
        peer.close()
    return results, notes


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def si(x: float | None, unit: str = "") -> str:
    """``47321 -> "47.3 K"``; ``None -> "n/a"``."""
    if x is None:
        return "n/a"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if x >= scale:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}".strip()


def format_table(results: list[Result]) -> str:
    head = ["system", "weights", "params", "MACs/s", "RTF", "RTF cpu", *METRICS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if r.scores is not None:
            scores = [f"{r.scores[m]:.{2 if m == 'si_sdr' else 3}f}" for m in METRICS]
        else:
            scores = ["untrained"] * len(METRICS)
        rtf = ["–" if x is None else f"{x:.3f}" for x in (r.rtf, r.rtf_cpu)]
        params = "–" if r.kind == "input" else si(r.params)
        macs = "–" if r.kind == "input" else si(r.macs_per_second)
        row = [r.name, r.weights, params, macs, *rtf, *scores]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ratios(results: list[Result]) -> list[dict]:
    """Each auralab model with weights against each scored peer."""
    out = []
    peers = [r for r in results if r.kind == "peer" and r.scores]
    for m in (r for r in results if r.kind == "auralab" and r.scores):
        for p in peers:
            out.append(
                {
                    "model": m.name,
                    "peer": p.name,
                    **{f"d_{k}": m.scores[k] - p.scores[k] for k in METRICS},
                    "params_x": m.params / p.params if p.params else None,
                    "rtf_x": m.rtf / p.rtf if p.rtf else None,
                }
            )
    return out


def format_ratio(r: dict) -> str:
    def times(x):
        return "n/a" if x is None else f"{x:.2g}x"

    return (
        f"{r['model']} vs {r['peer']}: PESQ {r['d_pesq_wb']:+.2f}, ESTOI {r['d_estoi']:+.3f}, "
        f"SI-SDR {r['d_si_sdr']:+.1f} dB, params {times(r['params_x'])}, "
        f"RTF {times(r['rtf_x'])}"
    )


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=Path, default=default_pairs(), help="folder with noisy/, clean/")
    p.add_argument("--models", help="comma-separated shipped names or architectures (default all)")
    p.add_argument(
        "--checkpoint", action="append", default=[], metavar="NAME=PATH", help="extra model"
    )
    p.add_argument("--threads", type=int, default=1, help="torch/OpenMP threads (default 1)")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return benchmark(args)
    except AuralabError as e:  # a bad path, name or checkpoint: one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


def benchmark(args) -> int:
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    pairs = load_pairs(args.pairs)
    progress(f"{len(pairs)} pairs from {args.pairs}, {args.threads} thread(s)")
    results, notes = run_all(args, pairs)
    comparisons = ratios(results)
    seconds = time.perf_counter() - start

    audio_s = sum(p.noisy.size for p in pairs) / SR
    print(f"## Speech enhancement on {args.pairs.name} ({len(pairs)} files, {audio_s:.1f} s)\n")
    print(format_table(results))
    print(
        f"\nRTF: processing time / audio duration with {args.threads} thread(s), resampling "
        "included; RTF cpu counts the process's CPU time instead of wall-clock time."
    )
    for note in notes:
        print(note)
    print()
    if comparisons:
        for r in comparisons:
            print(format_ratio(r))
    else:
        print("no auralab model with weights was scored, so no comparison with the peers")
    progress(f"done in {seconds:.1f} s")

    if args.json:
        report = {
            "auralab_version": __version__,
            "pairs": str(args.pairs),
            "files": len(pairs),
            "audio_seconds": audio_s,
            "threads": args.threads,
            "metrics": METRICS,
            "systems": [asdict(r) for r in results],
            "ratios": comparisons,
            "notes": notes,
            "run_seconds": seconds,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(jsonable(report), indent=2) + "\n")
    return 0


def jsonable(x):
    # NaN is not JSON: null says "no number" without inventing one.
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    return x


if __name__ == "__main__":
    sys.exit(main())
