"""Semantic EQ on held-out SAFE-DB: auralab's model vs the beta-VAE and the per-term mean.

Measures the claim in issue 5 ("beats both baselines on response error and descriptor accuracy,
positive warm/bright silhouette") in one process: the shipped models by default, or models
trained here from the recipes with ``--retrain`` (about 3-5 minutes on one CPU core).

    python benchmarks/eq.py [--retrain] [--data ../shared/data/safe-db/SAFEEqualiserUserData.csv]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from auralab.audio import load
from auralab.config import from_dict, load_config
from auralab.eq import evaluate as ev
from auralab.eq.config import EqConfig
from auralab.eq.generate import example_music_path
from auralab.eq.pretrained import load_checkpoint_of, load_model
from auralab.eq.task import EqTask, load_splits
from auralab.train import Trainer

REPO = Path(__file__).resolve().parents[1]
RECIPES = {"ours": "semantic_ae-safe.toml", "baseline": "beta_vae-safe.toml"}


def train(recipe: str, csv: Path, run_dir: Path) -> tuple[Path, float]:
    """Train one recipe into ``run_dir``; returns (run folder, seconds)."""
    config = load_config(EqConfig, REPO / "recipes" / "eq" / recipe, [f"data.csv='{csv}'"])
    start = time.perf_counter()
    Trainer(EqTask(config), config, run_dir).fit()
    return run_dir, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrain", action="store_true", help="train both models here first")
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data" / "safe-db" / "SAFEEqualiserUserData.csv",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    models = {"ours": "eq-default", "baseline": "eq-betavae"}
    if args.retrain:
        tmp = Path(tempfile.mkdtemp(prefix="eq-bench-"))
        for key, recipe in RECIPES.items():
            models[key], seconds = train(recipe, args.data, tmp / key)
            print(f"trained {recipe} in {seconds:.0f} s -> {models[key]}")
    ckpt, _ = load_checkpoint_of(models["ours"])
    splits, vocab = load_splits(from_dict(EqConfig, ckpt["config"]), str(args.data))
    ours = ev.ModelSystem("auralab semantic_ae", load_model(models["ours"]))
    base = ev.ModelSystem("beta-VAE (FlowEQ)", load_model(models["baseline"]))
    mean = ev.MeanSystem(splits["train"], vocab)
    wav, sr = load(example_music_path(), mono=False)
    result = ev.evaluate(
        [ours, base, mean], splits["train"], splits["test"], vocab, (wav.numpy(), sr)
    )
    print(result.table())
    rows = {r.name: r for r in result.rows}
    a, b, m = rows[ours.name], rows[base.name], rows[mean.name]
    print(f"response error ratio: vs beta-VAE {a.response_db / b.response_db:.3f}, "
          f"vs per-term mean {a.response_db / m.response_db:.3f}")  # fmt: skip
    targets = {
        "response error below both baselines": a.response_db < min(b.response_db, m.response_db),
        "descriptor accuracy above both baselines": a.accuracy > max(b.accuracy, m.accuracy),
        "warm/bright silhouette positive": a.silhouette > 0,
    }
    for claim, met in targets.items():
        print(f"{'met    ' if met else 'NOT met'}  {claim}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
