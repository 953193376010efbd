"""Training steps per second of every enhancement model: CPU, CUDA fp32, CUDA bf16, compiled.

Usage:
    python benchmarks/train_speed.py --make-data OUT.npz [--shared DIR]
    python benchmarks/train_speed.py [--data NPZ] [--models tiny,crn] [--device all|cpu|cuda]
                                     [--batch 16] [--segment-s 3] [--steps 2]
                                     [--cuda-seconds 6] [--compile] [--compile-models dpt,tiny]
                                     [--budget-s S] [--json PATH]

A step is the trainer's own step (``Trainer._train_step`` of a real ``Trainer``): forward under
bf16 autocast when ``amp`` is on, the enhance task's loss (compressed spectral + 0.01 SI-SDR),
backward, gradient clipping, AdamW, and the loss and gradient norm read back as the trainer
logs them. Batches are ``--batch`` crops of ``--segment-s`` s of real speech
(speechocean762/train) mixed with real noise (the training noise folders of
``recipes/enhance/tiny-shared.toml``) at -5..20 dB SNR of active speech level and -12..3 dB gain,
as ``MixingDataset`` mixes them, made with torch from int16 clips in ``--data`` before timing:
loading and mixing are not timed. ``--make-data`` writes that file from ``../shared/data`` (or
``$AURALAB_SHARED_DATA``), so a machine without the data or soundfile can run the benchmark.

Modes, measured in this order in one run: CPU with 1 thread (1 warm-up step, then ``--steps``
steps), then on CUDA fp32, bf16 autocast and, with ``--compile``, ``torch.compile`` in fp32
(5 warm-up steps, the first one timed alone as it holds cuDNN set-up or compilation, then
``--cuda-seconds`` of steps, synchronised). TF32 flags are left as torch sets them (and
reported). Ratios are against the CPU measured in the same run. ``--budget-s`` skips what
would start after that many seconds, and ``--json`` is rewritten after every measurement, so a
run cut short still leaves its numbers.
"""

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch._dynamo  # an import inside measure() would make `torch` local there

from auralab import __version__
from auralab.data.levels import mix_at_snr
from auralab.data.mixing import PEAK_MAX, loop_noise
from auralab.data.paired import crop_or_pad
from auralab.enhance.config import EnhanceConfig, EnhanceModelConfig
from auralab.enhance.losses import WeightedLoss
from auralab.enhance.models import MODELS, build_model
from auralab.errors import AuralabError, ConfigError
from auralab.train.trainer import Trainer, TrainerConfig

REPO = Path(__file__).resolve().parent.parent
SR = 16000
RECIPE = REPO / "recipes" / "enhance" / "tiny-shared.toml"  # its training noise folders
MAX_DATA_BYTES = 8 * 2**20
CLEAN_FILES, CLEAN_MAX_S = 32, 4.0  # one file from each of 32 speakers, at most 4 s each
NOISE_PER_FOLDER, NOISE_MAX_S = 2, 6.0
N_BATCHES = 4  # distinct batches, cycled while timing
CUDA_WARMUP = 5
COMPILE_MIN_S = 60.0  # a compiled cell is not started with less of the budget left
MODES = {
    "cpu": "CPU 1 thread",
    "cuda_fp32": "CUDA fp32",
    "cuda_bf16": "CUDA bf16",
    "cuda_compile": "compiled fp32",
}


# ---- data ---------------------------------------------------------------------------------
def shared_root() -> Path:
    return Path(os.environ.get("AURALAB_SHARED_DATA", REPO.parent / "shared" / "data"))


def make_data(out: Path, shared: Path) -> None:
    """Write a few int16 clean and noise clips (<= 8 MiB) from the shared data to ``out``."""
    from auralab.audio import load
    from auralab.audio.files import audio_files

    speakers = sorted(p for p in (shared / "speech" / "speechocean762" / "train").iterdir())
    step = max(1, len(speakers) // CLEAN_FILES)
    clean_files = [audio_files(s, "clean speech")[0] for s in speakers[::step][:CLEAN_FILES]]
    noise_dirs = tomllib.loads(RECIPE.read_text())["data"]["noise_dirs"]
    noise_files = []
    for d in noise_dirs:
        files = audio_files(shared / Path(d).relative_to("../shared/data"), "noise")
        noise_files += files[:: max(1, len(files) // NOISE_PER_FOLDER)][:NOISE_PER_FOLDER]
    arrays = {}
    for role, files, max_s in (
        ("clean", clean_files, CLEAN_MAX_S),
        ("noise", noise_files, NOISE_MAX_S),
    ):
        clips = [load(p, sr=SR, mono=True)[0][: int(max_s * SR)].numpy() for p in files]
        pcm = [np.round(np.clip(c, -1, 1) * 32767).astype(np.int16) for c in clips]
        arrays[role] = np.concatenate(pcm)
        arrays[f"{role}_lengths"] = np.array([c.size for c in pcm], dtype=np.int64)
        arrays[f"{role}_names"] = np.array([p.relative_to(shared).as_posix() for p in files])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, sr=np.int64(SR), **arrays)
    size = out.stat().st_size
    if size > MAX_DATA_BYTES:
        raise ConfigError(f"{out}: {size / 2**20:.1f} MiB, over the 8 MiB limit; use fewer clips")
    for role in ("clean", "noise"):
        n, s = arrays[f"{role}_lengths"].size, arrays[role].size / SR
        print(f"{role}: {n} clips, {s:.0f} s")
    print(f"wrote {out} ({size / 2**20:.2f} MiB) from {shared}")


def load_data(path: Path) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Clean and noise clips from ``--make-data``'s file, float32 in [-1, 1] at 16 kHz."""
    with np.load(path) as z:
        if int(z["sr"]) != SR:
            raise ConfigError(f"{path}: clips at {int(z['sr'])} Hz, expected {SR}")
        out = []
        for role in ("clean", "noise"):
            pcm = torch.from_numpy(z[role].astype(np.float32) / 32768.0)
            out.append(list(pcm.split(z[f"{role}_lengths"].tolist())))
    return out[0], out[1]


def make_batches(clean, noise, batch: int, segment_s: float, seed: int = 0) -> list[dict]:
    """``N_BATCHES`` batches ``{"noisy", "clean"}`` of ``(batch, T)``, mixed as MixingDataset.

    Per item: a random clean clip cropped at a random offset (zero-padded when shorter), a
    random noise clip looped with cross-fades and cut at a random offset, the noise scaled to a
    random SNR in -5..20 dB of active speech level, then a random gain in -12..3 dB applied to
    mix and clean alike (scaled down together if the peak would pass 0.99).
    """
    d = EnhanceConfig().data
    g = torch.Generator().manual_seed(seed)
    length = round(segment_s * SR)

    def uniform(lo, hi) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=g))

    def pick(n: int) -> int:
        return int(torch.randint(n, (), generator=g))

    batches = []
    for _ in range(N_BATCHES):
        items = []
        while len(items) < batch:
            c = clean[pick(len(clean))]
            c = crop_or_pad(c, pick(max(c.numel() - length, 0) + 1), length)
            n = noise[pick(len(noise))]
            offset = pick(n.numel())
            n = loop_noise(n, offset + length, round(0.05 * SR))[offset:]
            try:
                noisy, _ = mix_at_snr(c, n, uniform(*d.snr_db), SR)
            except AuralabError:  # a silent crop has no level: draw again
                continue
            gain = 10.0 ** (uniform(*d.gain_db) / 20.0)
            gain = min(gain, PEAK_MAX / max(float(noisy.abs().max()), float(c.abs().max())))
            items.append((noisy * gain, c * gain))
        batches.append(
            {k: torch.stack([it[i] for it in items]) for i, k in enumerate(("noisy", "clean"))}
        )
    return batches


# ---- the trainer, fed prepared batches ----------------------------------------------------
class BenchTask:
    """The enhance task's model and loss, without its data and validation (``EnhanceTask``'s
    validation imports the PESQ extension, which a bare GPU machine may lack)."""

    def __init__(self, config: EnhanceConfig, batches: list[dict]):
        self.config, self.batches = config, batches
        self.loss = WeightedLoss(config.loss)  # as EnhanceTask builds it

    def build_data(self):
        return self.batches, None

    def build_model(self):
        return build_model(self.config.model.name, sr=SR, **self.config.model.args)

    def model_spec(self):
        return {"name": self.config.model.name, "config": self.build_model().config()}

    def training_loss(self, model, batch):
        return self.loss(model(batch["noisy"]), batch["clean"])  # as EnhanceTask does


@dataclass
class Mode:
    key: str
    device: str
    amp: bool = False
    compile: bool = False


ALL_MODES = [
    Mode("cpu", "cpu"),
    Mode("cuda_fp32", "cuda"),
    Mode("cuda_bf16", "cuda", amp=True),
    Mode("cuda_compile", "cuda", compile=True),
]


def measure(name: str, mode: Mode, batches: list[dict], args) -> dict:
    """Steps per second of one model in one mode, with the trainer's own step."""
    config = EnhanceConfig(name=f"bench-{name}", model=EnhanceModelConfig(name=name))
    config.trainer = TrainerConfig(
        max_steps=10**9,
        batch_size=args.batch,
        warmup_steps=0,
        device=mode.device,
        amp=mode.amp,
        compile=mode.compile,
        threads=1 if mode.device == "cpu" else 0,
        tensorboard=False,
    )
    cuda = mode.device == "cuda"
    on_device = [{k: v.to(mode.device) for k, v in b.items()} for b in batches]
    if mode.compile:
        torch._dynamo.reset()  # compile each model afresh, its compile time in the first step
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(BenchTask(config, on_device), config, run_dir)
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        t0 = time.perf_counter()
        trainer._train_step(on_device[0])
        sync()
        first = time.perf_counter() - t0
        for i in range(1, CUDA_WARMUP if cuda else 1):
            trainer._train_step(on_device[i % len(on_device)])
        sync()
        min_steps, seconds = (CUDA_WARMUP, args.cuda_seconds) if cuda else (args.steps, 0.0)
        steps, t0 = 0, time.perf_counter()
        while steps < min_steps or time.perf_counter() - t0 < seconds:
            trainer._train_step(on_device[steps % len(on_device)])
            steps += 1
        sync()
        elapsed = time.perf_counter() - t0
    result = {
        "steps_per_s": steps / elapsed,
        "steps": steps,
        "seconds": elapsed,
        "first_step_s": first,
    }
    if cuda:
        result["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return result


# ---- report -------------------------------------------------------------------------------
def cell(results: dict, key: str, name: str) -> str:
    r = results[name].get(key)
    if r is None:
        return "–"
    if "steps_per_s" not in r:
        return "skipped" if "skipped" in r else "failed"
    text = f"{r['steps_per_s']:.3g}"
    cpu = results[name].get("cpu", {}).get("steps_per_s")
    if key != "cpu" and cpu:
        text += f" (x{r['steps_per_s'] / cpu:.0f})"
    return text


def format_table(report: dict) -> str:
    results, keys = report["results"], report["modes"]
    head = ["model", "params", *[f"{MODES[k]} steps/s" for k in keys]]
    if any(k != "cpu" for k in keys):
        head.append("peak MiB fp32 / bf16")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        row = [name, f"{r['params']:,}", *[cell(results, k, name) for k in keys]]
        if any(k != "cpu" for k in keys):
            mib = [r.get(k, {}).get("peak_mib") for k in ("cuda_fp32", "cuda_bf16")]
            row.append(" / ".join("–" if m is None else f"{m:.0f}" for m in mib))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ratio_lines(report: dict) -> list[str]:
    """Per model: bf16 and compiled against CUDA fp32, and every failure or skip in words."""
    lines = []
    for name, r in report["results"].items():
        fp32 = r.get("cuda_fp32", {}).get("steps_per_s")
        parts = []
        for key in ("cuda_bf16", "cuda_compile"):
            rate = r.get(key, {}).get("steps_per_s")
            if fp32 and rate:
                parts.append(f"{MODES[key]} / CUDA fp32 x{rate / fp32:.2f}")
        if "cuda_compile" in r and "first_step_s" in r["cuda_compile"]:
            parts.append(f"first compiled step {r['cuda_compile']['first_step_s']:.0f} s")
        for key in report["modes"]:
            why = r.get(key, {}).get("error") or r.get(key, {}).get("skipped")
            if why:
                parts.append(f"{MODES[key]}: {why}")
        if parts:
            lines.append(f"{name}: " + "; ".join(parts))
    return lines


def environment() -> dict:
    cpu = next(
        (x.split(":", 1)[1].strip() for x in _cpuinfo() if x.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    env = {
        "auralab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
    }
    return env


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def write_json(report: dict, path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")


# ---- main ---------------------------------------------------------------------------------
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--make-data", type=Path, metavar="OUT", help="write the data file and stop")
    p.add_argument("--shared", type=Path, default=shared_root(), help="shared data folder")
    p.add_argument("--data", type=Path, help="the --make-data file (default: read --shared)")
    p.add_argument("--models", default=",".join(MODELS.names()), help="comma-separated")
    p.add_argument("--device", choices=("all", "cpu", "cuda"), default="all")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--segment-s", type=float, default=3.0)
    p.add_argument("--steps", type=int, default=2, help="timed CPU steps")
    p.add_argument("--cuda-seconds", type=float, default=6.0, help="timed seconds per CUDA mode")
    p.add_argument("--compile", action="store_true", help="also measure torch.compile (fp32)")
    p.add_argument("--compile-models", help="compile only these, in this order (default: all)")
    p.add_argument("--budget-s", type=float, help="start nothing after this many seconds")
    p.add_argument("--json", type=Path, help="write the numbers here")
    return p.parse_args(argv)


def chosen_modes(args) -> list[Mode]:
    wanted = [m for m in ALL_MODES if args.device in ("all", m.device)]
    if any(m.device == "cuda" for m in wanted) and not torch.cuda.is_available():
        if args.device == "cuda":
            raise ConfigError("--device cuda but no CUDA device is visible; use --device cpu")
        print("note: no CUDA device is visible; measuring the CPU only")
        wanted = [m for m in wanted if m.device == "cpu"]
    return [m for m in wanted if args.compile or not m.compile]


def batches_from(args) -> list[dict]:
    if args.data is not None:
        clean, noise = load_data(args.data)
        source = str(args.data)
    else:  # straight from the shared folders, through the same file format
        with tempfile.TemporaryDirectory() as tmp:
            make_data(Path(tmp) / "data.npz", args.shared)
            clean, noise = load_data(Path(tmp) / "data.npz")
        source = str(args.shared)
    print(f"data: {len(clean)} clean and {len(noise)} noise clips from {source}")
    return make_batches(clean, noise, args.batch, args.segment_s)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.make_data is not None:
            make_data(args.make_data, args.shared)
            return 0
        return benchmark(args)
    except AuralabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def benchmark(args) -> int:
    start = time.perf_counter()
    names = args.models.split(",")
    unknown = [n for n in names if n not in MODELS.names()]
    if unknown:
        raise ConfigError(f"--models: unknown {unknown}; use some of {MODELS.names()}")
    modes = chosen_modes(args)
    batches = batches_from(args)
    report = {
        "environment": environment(),
        "batch": args.batch,
        "segment_s": args.segment_s,
        "modes": [m.key for m in modes],
        "complete": False,
        "results": {n: {"params": build_model(n).num_params()} for n in names},
    }
    env = report["environment"]
    print(f"torch {env['torch']}, CPU: {env['cpu']}, GPU: {env['gpu']}")
    print(
        f"batch {args.batch} x {args.segment_s:g} s at {SR} Hz; TF32 matmul "
        f"{env['tf32_matmul']}, cuDNN {env['tf32_cudnn']} (torch defaults, as the trainer runs)"
    )
    compiled = args.compile_models.split(",") if args.compile_models else names
    for mode in modes:
        for name in [n for n in compiled if n in names] if mode.compile else names:
            report["results"][name][mode.key] = run_cell(name, mode, batches, args, start)
            write_json(report, args.json)
    report["complete"] = True
    report["seconds"] = time.perf_counter() - start
    write_json(report, args.json)
    print()
    print(format_table(report))
    for line in ratio_lines(report):
        print(line)
    print(f"total {report['seconds']:.0f} s")
    return 0


def run_cell(name: str, mode: Mode, batches, args, start: float) -> dict:
    left = math.inf if args.budget_s is None else args.budget_s - (time.perf_counter() - start)
    if left <= 0 or (mode.compile and left < COMPILE_MIN_S):
        print(f"{name:16} {MODES[mode.key]:14} skipped: {left:.0f} s of the budget left")
        return {"skipped": "over --budget-s"}
    try:
        r = measure(name, mode, batches, args)
    except Exception as e:  # one failing mode must not hide the others' numbers
        traceback.print_exc(limit=-3)
        first = (str(e).strip().splitlines() or [""])[0][:200]
        print(f"{name:16} {MODES[mode.key]:14} failed: {type(e).__name__}: {first}")
        return {"error": f"{type(e).__name__}: {first}"}
    extra = f", peak {r['peak_mib']:.0f} MiB" if "peak_mib" in r else ""
    print(
        f"{name:16} {MODES[mode.key]:14} {r['steps_per_s']:8.3f} steps/s ({r['steps']} steps in "
        f"{r['seconds']:.1f} s; first step {r['first_step_s']:.2f} s{extra})",
        flush=True,
    )
    return r


if __name__ == "__main__":
    sys.exit(main())
