"""ESC-10 5-fold cross-validation accuracy (mean ± std) and training throughput per model.

    python benchmarks/classify.py                       # throughput table + CV of `cnn`
    python benchmarks/classify.py --models cnn resnet   # CV of several models (slow on CPU)
    python benchmarks/classify.py --throughput-only     # the model table alone, in a minute
    python benchmarks/classify.py --summary runs/esc10-cnn-cv/summary.json   # report a done CV

Target (issue 4): ESC-10 accuracy >= 90 % from scratch. Every model is trained with the same
recipe (recipes/classify/esc10.toml, model.name swapped), on one CPU thread unless --threads.
Throughput is measured in this process, each model on the same batch: training clips/s (forward,
backward and AdamW step on batches of training crops) and inference clips/s (5 s clips scored
window by window, as the CV and `auralab classify` score them).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from auralab.classify.config import ClassifyConfig  # noqa: E402
from auralab.classify.crossval import cross_validate, format_summary  # noqa: E402
from auralab.classify.infer import predict_clips  # noqa: E402
from auralab.classify.models import build_model  # noqa: E402
from auralab.config import load_config  # noqa: E402

MODELS = {  # name -> model.args used in the table (the recipe's args for its own model)
    "cnn": None,
    "resnet": {"stem": 16, "channels": [32, 64, 128], "blocks": 1},
    "mobilenet": {"stem": 16, "channels": [24, 48, 96, 128], "blocks": 2, "expand": 4},
}


def throughput(config: ClassifyConfig, name: str, args: dict, batch: int = 32) -> dict:
    f, d = config.features, config.data
    labels = [f"c{i}" for i in range(10)]
    model = build_model(
        name,
        labels=labels,
        sr=d.sr,
        n_fft=f.n_fft,
        hop=f.hop,
        n_mels=f.n_mels,
        f_min=f.f_min,
        window_s=d.crop_s,
        **args,
    )
    opt = torch.optim.AdamW(model.parameters())
    x = torch.randn(batch, int(d.crop_s * d.sr))
    y = torch.randint(0, 10, (batch,))
    times = []
    model.train()
    for _ in range(4):
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    clips = [torch.randn(int(d.clip_s * d.sr)) for _ in range(16)]
    t0 = time.perf_counter()
    predict_clips(model, clips)
    infer = len(clips) / (time.perf_counter() - t0)
    return {
        "params": model.num_params(),
        "train_clips_per_s": batch / min(times[1:]),  # first step warms up oneDNN
        "infer_clips_per_s": infer,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", type=Path, default=REPO / "recipes" / "classify" / "esc10.toml")
    p.add_argument("--models", nargs="+", default=["cnn"], choices=sorted(MODELS))
    p.add_argument("--folds", type=int, nargs="+", help="hold out only these folds")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "bench-classify")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--throughput-only", action="store_true")
    p.add_argument("--summary", type=Path, help="report this crossval summary.json instead")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    base = load_config(ClassifyConfig, args.recipe, [f"trainer.threads={args.threads}"])
    table = {}
    print(f"{'model':<10} {'params':>9} {'train clips/s':>14} {'infer clips/s':>14}")
    for name, margs in MODELS.items():
        m = throughput(base, name, margs if margs is not None else base.model.args)
        table[name] = m
        print(
            f"{name:<10} {m['params']:>9,} {m['train_clips_per_s']:>14.1f} "
            f"{m['infer_clips_per_s']:>14.1f}"
        )
    results = {"throughput": table, "threads": args.threads, "cv": {}}
    if args.summary:
        summary = json.loads(args.summary.read_text())
        results["cv"][summary["config"]["model"]["name"]] = _short(summary)
        print(f"\n{args.summary}:\n{format_summary(summary)}")
    elif not args.throughput_only:
        for name in args.models:
            overrides = [f"model.name={name}", f"trainer.threads={args.threads}"]
            if name != base.model.name:
                overrides.append(f"model.args={_inline(MODELS[name])}")
            config = load_config(ClassifyConfig, args.recipe, overrides)
            summary = cross_validate(config, args.out / name, args.folds)
            results["cv"][name] = _short(summary)
            print(f"\n{name} ({summary['splits']}):\n{format_summary(summary)}")
            print(
                f"  trained {summary['train_seconds'] / 60:.1f} min, "
                f"{summary['clips_per_s']:.1f} clips/s"
            )
    for name, cv in results["cv"].items():
        mean, std = cv["mean"]["accuracy"], cv["std"]["accuracy"] or 0.0
        verdict = "meets" if mean >= 0.90 else "misses"
        print(
            f"{name}: ESC-10 accuracy {100 * mean:.2f} ± {100 * std:.2f} % "
            f"({verdict} the 90 % target)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _short(summary: dict) -> dict:
    keys = ("folds", "mean", "std", "train_seconds", "clips_per_s", "splits")
    return {k: summary[k] for k in keys}


def _inline(args: dict) -> str:
    items = ", ".join(f"{k} = {json.dumps(v)}" for k, v in args.items())
    return "{ " + items + " }"


if __name__ == "__main__":
    sys.exit(main())
