"""``auralab crossval RECIPE``: train and score every fold with one command, then summarise.

Each fold ``k`` trains on the other folds through the shared trainer (``OUT/fold{k}/``: config,
checkpoints, metrics.jsonl, curves, TensorBoard) and is scored on fold ``k`` with the weights
of the last step (EMA when enabled). The held-out fold is logged during training but never
selects a checkpoint or stops training early, so the score it gives is not tuned on it. The
summary (``OUT/summary.json``) holds per-fold and mean ± std (sample std over folds) accuracy,
balanced accuracy, macro F1 and ROC-AUC, per-class accuracy, and the confusion matrix pooled
over folds (``OUT/confusion.csv`` and ``.png``); ``OUT/predictions.csv`` has every clip's
prediction. A fold already finished (``fold{k}/result.json``) is not trained again, and a fold
cut short resumes from its ``last.pt``. ``--final`` then trains on every clip
(``OUT/final/``) and writes ``OUT/final/model.pt``, the slim weights with the scores inside.
"""

import csv
import dataclasses
import io
import json
import time
from pathlib import Path

import numpy as np

from auralab.classify.config import ClassifyConfig
from auralab.classify.data import ClipAudio, ClipDataset, dataset_path, load_clips, open_table
from auralab.classify.report import write_confusion
from auralab.classify.splits import dataset_folds
from auralab.classify.task import ClassifyTask, predict
from auralab.config import add_set_argument, load_config, override, to_dict
from auralab.errors import ConfigError
from auralab.metrics.classification import classification_report
from auralab.train.runs import atomic_write_text

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")
QUICK_FOLDS = 2
QUICK_STEPS = 20


def cross_validate(
    config: ClassifyConfig,
    out_dir: str | Path,
    folds: list[int] | None = None,
    final: bool = False,
    check: bool = True,
    audio: ClipAudio | None = None,
) -> dict:
    """Train and score each fold, write the summary; returns it.

    Args:
        config: the recipe; ``data.val_fold`` is set per fold.
        out_dir: where the fold runs and the summary go.
        folds: which folds to hold out (default: all of the dataset's).
        final: also train on every clip and export ``final/model.pt``.
        check: refuse a dataset with errors first.
        audio: clips already decoded at ``config.data.sr`` (default: decoded here, once).
    """
    out = Path(out_dir)
    if audio is None:
        d = config.data
        audio = load_clips(open_table(dataset_path(d.root)), d.sr, d.clip_s)
    all_folds = dataset_folds(audio.table, config.data.n_folds, config.data.split_seed)
    folds = folds or sorted(set(all_folds.tolist()))
    results = [_run_fold(config, audio, k, out, check) for k in folds]
    summary = _summary(config, audio, results)
    if final:
        summary["final"] = _train_final(config, audio, out, check, summary)
    _write_outputs(out, summary, results, audio.table.labels)
    return summary


def _fold_config(config: ClassifyConfig, val_fold: int) -> ClassifyConfig:
    data = dataclasses.replace(config.data, val_fold=val_fold)
    trainer = dataclasses.replace(config.trainer, early_stop_patience=0)
    name = f"{config.name}-fold{val_fold}" if val_fold else f"{config.name}-final"
    return dataclasses.replace(config, name=name, data=data, trainer=trainer)


def _train(config: ClassifyConfig, audio: ClipAudio, run_dir: Path, check: bool):
    from auralab.train import Trainer

    task = ClassifyTask(config, check=check, audio=audio)
    resume = (run_dir / "last.pt").exists()
    trainer = Trainer(task, config, run_dir, resume=resume)
    t0 = time.time()
    start_step = trainer.state["step"]
    state = trainer.fit()
    seconds = time.time() - t0
    model = trainer.ema if trainer.ema is not None else trainer.model
    steps = state["step"] - start_step
    clips_per_s = steps * config.trainer.batch_size / seconds if seconds > 0 else float("nan")
    return (
        task,
        model,
        {"train_seconds": seconds, "steps": state["step"], "clips_per_s": clips_per_s},
    )


def _run_fold(config, audio: ClipAudio, k: int, out: Path, check: bool) -> dict:
    run_dir = out / f"fold{k}"
    done = run_dir / "result.json"
    if done.exists():
        print(f"fold {k}: already done ({done}); skipping")
        return json.loads(done.read_text())
    cfg = _fold_config(config, k)
    print(f"fold {k}: training on the other folds")
    task, model, timing = _train(cfg, audio, run_dir, check)
    train_idx, val_idx = task.split()
    probs, targets = predict(model, ClipDataset(audio, val_idx))
    report = classification_report(probs, targets, len(audio.table.labels))
    result = {
        "fold": k,
        "n_train": len(train_idx),
        **report,
        **timing,
        "clips": [audio.table.clips[i].id for i in val_idx],
        "targets": targets.tolist(),
        "probs": np.round(probs, 5).tolist(),
    }
    atomic_write_text(done, json.dumps(result))
    print(f"fold {k}: accuracy {report['accuracy']:.4f} on {report['n']} clips")
    return result


def _summary(config, audio: ClipAudio, results: list[dict]) -> dict:
    labels = audio.table.labels
    per_fold = [{"fold": r["fold"], **{m: r[m] for m in METRICS}, "n": r["n"]} for r in results]
    mean = {m: float(np.mean([r[m] for r in results])) for m in METRICS}
    std = {
        m: float(np.std([r[m] for r in results], ddof=1)) if len(results) > 1 else None
        for m in METRICS
    }
    probs = np.concatenate([np.asarray(r["probs"]) for r in results])
    targets = np.concatenate([np.asarray(r["targets"]) for r in results])
    pooled = classification_report(probs, targets, len(labels))
    return {
        "dataset": str(audio.table.root),
        "splits": "official folds" if audio.table.has_folds else "grouped stratified folds",
        "labels": labels,
        "folds": per_fold,
        "mean": mean,
        "std": std,
        "std_note": "sample standard deviation over folds (ddof=1)",
        "pooled": pooled,
        "per_class_accuracy": dict(zip(labels, pooled["per_class_accuracy"], strict=True)),
        "train_seconds": float(sum(r["train_seconds"] for r in results)),
        "clips_per_s": float(np.mean([r["clips_per_s"] for r in results])),
        "config": to_dict(config),
    }


def _train_final(config, audio: ClipAudio, out: Path, check: bool, summary: dict) -> dict:
    from auralab.classify.pretrained import export_classifier

    cfg = _fold_config(config, 0)
    print("final: training on every clip")
    _, model, timing = _train(cfg, audio, out / "final", check)
    notes = {
        "cv_mean": summary["mean"],
        "cv_std": summary["std"],
        "cv_folds": summary["folds"],
        "dataset": summary["dataset"],
        "config": to_dict(cfg),
    }
    sha = export_classifier(model.cpu(), config.model.name, out / "final" / "model.pt", notes)
    return {**timing, "model": str(out / "final" / "model.pt"), "sha256": sha}


def _write_outputs(out: Path, summary: dict, results: list[dict], labels: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_confusion(summary["pooled"]["confusion"], labels, out / "confusion", "pooled over folds")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip", "fold", "label", "predicted", "probability", *labels])
    for r in results:
        for clip, t, p in zip(r["clips"], r["targets"], r["probs"], strict=True):
            best = int(np.argmax(p))
            w.writerow([clip, r["fold"], labels[t], labels[best], f"{p[best]:.4f}", *p])
    atomic_write_text(out / "predictions.csv", buf.getvalue())


def format_summary(summary: dict) -> str:
    """Per-fold table and mean ± std, as printed by the command."""
    lines = [f"{'fold':>6} " + " ".join(f"{m:>18}" for m in METRICS)]
    for f in summary["folds"]:
        lines.append(f"{f['fold']:>6} " + " ".join(f"{f[m]:>18.4f}" for m in METRICS))
    cells = []
    for m in METRICS:
        s = summary["std"][m]
        cells.append(
            f"{summary['mean'][m]:.4f} ± {s:.4f}" if s is not None else f"{summary['mean'][m]:.4f}"
        )
    lines.append(f"{'mean':>6} " + " ".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------------


def add_parser(sub) -> None:
    p = sub.add_parser(
        "crossval",
        help="cross-validate a classification recipe over every fold",
        description="Train and score a classification recipe on every fold (official folds, or "
        "folds grouped by source recording), then write OUT/summary.json, confusion.csv/.png "
        "and predictions.csv.",
    )
    p.add_argument("recipe", type=Path, help="classification recipe TOML (recipes/classify/)")
    add_set_argument(p, "trainer.max_steps=200")
    p.add_argument("--out", type=Path, help="output folder (default runs/<name>-cv)")
    p.add_argument("--folds", type=int, nargs="+", metavar="K", help="hold out only these folds")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: the first {QUICK_FOLDS} folds, at most {QUICK_STEPS} steps each",
    )
    p.add_argument("--final", action="store_true", help="then train on every clip and export it")
    p.add_argument("--init", type=Path, metavar="PATH", help="start every fold from these weights")
    p.add_argument("--no-check", action="store_true", help="skip the dataset integrity check")
    p.set_defaults(run=run)


def run(args) -> int:
    if not args.recipe.is_file():
        raise ConfigError(f"{args.recipe}: no such recipe file")
    overrides = list(args.overrides)
    if args.init:
        overrides.append(override("model.init", str(args.init)))
    config = load_config(ClassifyConfig, args.recipe, overrides)
    folds = args.folds
    if args.quick:
        config = _quick(config)
    d = config.data
    audio = load_clips(open_table(dataset_path(d.root)), d.sr, d.clip_s)
    if args.quick and not folds:
        present = sorted(set(dataset_folds(audio.table, d.n_folds, d.split_seed).tolist()))
        folds = present[:QUICK_FOLDS]
    out = args.out or Path("runs") / f"{config.name}-cv"
    summary = cross_validate(config, out, folds, args.final, not args.no_check, audio)
    print(format_summary(summary))
    print(f"summary, confusion matrix and predictions in {out}/")
    return 0


def _quick(config: ClassifyConfig) -> ClassifyConfig:
    t = config.trainer
    steps = min(t.max_steps, QUICK_STEPS)
    trainer = dataclasses.replace(
        t,
        max_steps=steps,
        val_every=steps,
        log_every=min(t.log_every, steps),
        warmup_steps=min(t.warmup_steps, steps // 4),
    )
    return dataclasses.replace(config, trainer=trainer)
