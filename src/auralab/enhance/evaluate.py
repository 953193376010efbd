"""``auralab evaluate``: every speech metric for the noisy input and, if given, enhanced files.

The unprocessed noisy input is always scored beside the enhanced files, so no number appears
without its baseline; improvements are paired per file with a bootstrap interval. Files are
scored in worker processes; a bad file is listed at the end instead of stopping the batch.
"""

import csv
import io
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tqdm import tqdm

from auralab import __version__
from auralab.atomic import atomic_write_text
from auralab.audio import load, resample
from auralab.audio.files import relative_audio
from auralab.errors import AuralabError, DataError
from auralab.metrics import LOWER_IS_BETTER, SPEECH_METRICS, speech_quality
from auralab.metrics.stats import FEW_FILES, mean_ci, paired_bootstrap

METRIC_RATES = (8000, 16000)
TABLE_METRICS = ("pesq_wb", "stoi", "estoi", "si_sdr", "ssnr", "csig", "cbak", "covl")


@dataclass
class Evaluation:
    """Per-file scores, their summary, and the files that could not be scored."""

    rows: list[dict] = field(default_factory=list)  # one per (file, system)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, one-line reason)
    summary: dict = field(default_factory=dict)


def example_dirs() -> tuple[Path, Path]:
    """The bundled VoiceBank-DEMAND example pair folders ``(noisy, clean)``."""
    root = Path(str(resources.files("auralab") / "examples"))
    return root / "noisy", root / "clean"


def score_pair(noisy: str, clean: str, enhanced: str | None = None) -> list[dict]:
    """Score one file: rows for ``noisy`` and (if given) ``enhanced`` against ``clean``.

    Files at a rate other than 8 or 16 kHz are resampled to 16 kHz with soxr first, and the
    row says so in ``resampled_from``.
    """
    ref, sr = load(clean, mono="strict")
    systems = {"noisy": noisy} if enhanced is None else {"noisy": noisy, "enhanced": enhanced}
    rows = []
    for system, path in systems.items():
        wav, wav_sr = load(path, mono="strict")
        if wav_sr != sr:
            raise DataError(f"{path}: {wav_sr} Hz but clean is {sr} Hz; resample one explicitly")
        if wav.numel() != ref.numel():
            raise DataError(
                f"{path}: {wav.numel()} samples but clean has {ref.numel()}; "
                "the files must be aligned and of equal length (run `auralab check pairs`)"
            )
        metric_sr = sr if sr in METRIC_RATES else 16000
        target = ref if metric_sr == sr else resample(ref, sr, metric_sr)
        preds = wav if metric_sr == sr else resample(wav, sr, metric_sr)
        row = {"file": Path(noisy).name, "system": system, "sr": sr, "metric_sr": metric_sr}
        row["resampled_from"] = sr if metric_sr != sr else ""
        row.update(speech_quality(preds.numpy(), target.numpy(), metric_sr))
        rows.append(row)
    return rows


def _worker_init():
    # Each process scores whole files; extra BLAS threads per process only oversubscribe cores.
    import torch

    torch.set_num_threads(1)


def evaluate(
    jobs: list[tuple[str, str, str | None]], workers: int = 1, progress: bool = True
) -> Evaluation:
    """Score ``(noisy, clean, enhanced_or_None)`` jobs in ``workers`` processes."""
    result = Evaluation()
    bar = tqdm(total=len(jobs), desc="evaluate", unit="file", disable=not progress)
    if workers <= 1:
        for job in jobs:
            _collect(result, job, lambda j=job: score_pair(*j))
            bar.update()
    else:
        with ProcessPoolExecutor(workers, initializer=_worker_init) as pool:
            futures = {pool.submit(score_pair, *job): job for job in jobs}
            for future in as_completed(futures):
                _collect(result, futures[future], future.result)
                bar.update()
    bar.close()
    result.rows.sort(key=lambda r: (r["file"], r["system"]))
    result.summary = summarise(result.rows)
    return result


def _collect(result: Evaluation, job, get) -> None:
    try:
        result.rows.extend(get())
    except AuralabError as e:
        result.failures.append((job[0], str(e)))


def summarise(rows: list[dict]) -> dict:
    """Mean/std/CI per system and metric, and paired enhanced-vs-noisy deltas."""
    systems = sorted({r["system"] for r in rows}, key=["noisy", "enhanced"].index)
    by = {s: {r["file"]: r for r in rows if r["system"] == s} for s in systems}
    out = {"systems": {}, "delta_vs_noisy": {}}
    for s in systems:
        out["systems"][s] = {m: mean_ci([r[m] for r in by[s].values()]) for m in SPEECH_METRICS}
    if "enhanced" in by:
        files = sorted(by["enhanced"])
        for m in SPEECH_METRICS:
            d = paired_bootstrap(
                [by["enhanced"][f][m] for f in files], [by["noisy"][f][m] for f in files]
            )
            d["better"] = "lower" if m in LOWER_IS_BETTER else "higher"
            out["delta_vs_noisy"][m] = d
    return out


def find_jobs(noisy_dir, clean_dir, enhanced_dir=None) -> tuple[list[tuple], list[tuple[str, str]]]:
    """Pair files by relative path; returns ``(jobs, failures)`` for files lacking a partner."""
    noisy, clean = relative_audio(noisy_dir, "noisy"), relative_audio(clean_dir, "clean")
    enhanced = relative_audio(enhanced_dir, "enhanced") if enhanced_dir else None
    jobs, failures = [], []
    for rel, path in noisy.items():
        if rel not in clean:
            failures.append((str(path), f"no clean file {rel} in {clean_dir}"))
        elif enhanced is not None and rel not in enhanced:
            failures.append((str(path), f"no enhanced file {rel} in {enhanced_dir}"))
        else:
            jobs.append((str(path), str(clean[rel]), str(enhanced[rel]) if enhanced else None))
    return jobs, failures


def write_outputs(result: Evaluation, out_dir: Path, meta: dict) -> None:
    """``per_file.csv`` and ``summary.json`` in ``out_dir``, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = ["file", "system", "sr", "metric_sr", "resampled_from", *SPEECH_METRICS]
    buffer = io.StringIO()
    _write_csv(buffer, columns, result.rows)
    atomic_write_text(out_dir / "per_file.csv", buffer.getvalue())
    summary = {
        **meta,
        **result.summary,
        "failures": [{"file": f, "error": e} for f, e in result.failures],
    }
    atomic_write_text(out_dir / "summary.json", json.dumps(_jsonable(summary), indent=2))


def write_spectrograms(jobs: list[tuple], out_dir: Path, limit: int = 3) -> None:
    """PNG spectrograms (noisy / enhanced / clean) of the first ``limit`` scorable files."""
    import matplotlib.pyplot as plt

    from auralab.report.plots import spectrogram_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    for noisy, clean, enhanced in jobs[:limit]:
        try:
            signals = {
                "noisy": load(noisy)[0],
                "enhanced": load(enhanced)[0],
                "clean": load(clean)[0],
            }
        except AuralabError:
            continue  # already listed among the failures
        fig = spectrogram_figure(signals, load(clean)[1])
        tmp = out_dir / f".{Path(noisy).stem}.png"
        fig.savefig(tmp, dpi=90)
        plt.close(fig)
        os.replace(tmp, out_dir / f"{Path(noisy).stem}.png")


def _write_csv(f, columns, rows) -> None:
    writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _jsonable(x):
    # NaN is not valid JSON; null says "not computed" honestly.
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def format_table(summary: dict, metrics=TABLE_METRICS) -> str:
    """A table: mean ± 95 % CI half-width per system, and the paired delta with its CI."""
    systems = list(summary["systems"])
    has_delta = bool(summary.get("delta_vs_noisy"))
    rows = [["metric", *systems] + (["delta [95% CI]"] if has_delta else [])]
    for m in metrics:
        row = [SPEECH_METRICS[m]]
        for s in systems:
            st = summary["systems"][s][m]
            half = (st["ci95"][1] - st["ci95"][0]) / 2
            row.append(
                f"{st['mean']:.3f} ± {half:.3f}" if math.isfinite(half) else f"{st['mean']:.3f}"
            )
        if has_delta:
            d = summary["delta_vs_noisy"][m]
            row.append(f"{d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
        rows.append(row)
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["mean ± 95 % CI half-width over files"]
    n = max(st["n"] for st in summary["systems"][systems[0]].values())
    if n < FEW_FILES:
        lines[0] += (
            f" -- only {n} file{'s' if n != 1 else ''}: intervals from so few files are far too "
            "narrow or wide to be 95 %; read them as the spread, and score more files"
        )
    for k, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if k == 0:
            lines.append("-" * len(lines[-1]))
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score noisy (and enhanced) speech against clean references",
        description="PESQ, STOI, ESTOI, SI-SDR, SNR, SSNR, LLR, WSS and CSIG/CBAK/COVL for the "
        "noisy input and, if given, enhanced files, with 95 % CIs and paired deltas.",
    )
    p.add_argument("--noisy", type=Path, help="folder of noisy (unprocessed) files")
    p.add_argument("--clean", type=Path, help="folder of clean references, same relative paths")
    p.add_argument("--enhanced", type=Path, help="folder of enhanced files, same relative paths")
    p.add_argument("--example", action="store_true", help="use the bundled example pairs")
    p.add_argument("-o", "--out", type=Path, default=Path("runs/evaluate"), help="output folder")
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)"
    )
    p.add_argument(
        "--no-check",
        action="store_true",
        help="skip `auralab check pairs` (recorded in the summary)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--vad",
        action="store_true",
        help="also score speech-active regions only (Silero VAD on the clean files), "
        "written to OUT_DIR/speech_active/",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    if args.example:
        args.noisy, args.clean = example_dirs()
    if args.noisy is None or args.clean is None:
        raise DataError("evaluate: give --noisy DIR and --clean DIR (or --example)")
    if args.workers < 1:
        raise DataError(f"evaluate: --workers={args.workers}; use 1 or more")
    check_note = _preflight(args)
    if check_note is None:
        return 1
    jobs, missing = find_jobs(args.noisy, args.clean, args.enhanced)
    result = evaluate(jobs, workers=min(args.workers, max(1, len(jobs))), progress=not args.quiet)
    result.failures = missing + result.failures
    meta = {
        "auralab_version": __version__,
        "noisy_dir": str(args.noisy),
        "clean_dir": str(args.clean),
        "enhanced_dir": str(args.enhanced) if args.enhanced else None,
        "integrity_check": check_note,
        "metric_sample_rates": sorted({r["metric_sr"] for r in result.rows}),
        "resampled_to_16k_from": sorted({r["resampled_from"] for r in result.rows} - {""}),
        "pesq_convention": "ITU-T P.862.2 wide-band via `pesq`; composites use PESQ-wb at 16 kHz",
    }
    write_outputs(result, args.out, meta)
    if args.enhanced and result.rows:
        write_spectrograms(jobs, args.out / "spectrograms", limit=3)
    if result.rows:
        print(format_table(result.summary))
        if meta["resampled_to_16k_from"]:
            rates = ", ".join(map(str, meta["resampled_to_16k_from"]))
            print(f"note: files at {rates} Hz were resampled to 16 kHz (soxr VHQ) for scoring")
    if getattr(args, "vad", False) and jobs:
        from auralab.enhance.vad import evaluate_speech_regions

        evaluate_speech_regions(jobs, args.out, meta)
    n_scored = len({r["file"] for r in result.rows})
    print(f"{n_scored} files scored, {len(result.failures)} failed; results in {args.out}/")
    for f, e in result.failures:
        print(f"failed: {f}: {e}")
    return 1 if result.failures else 0


def _preflight(args) -> str | None:
    """Run the pair check; returns the note for the summary, or None to refuse."""
    if args.no_check:
        print("warning: integrity check skipped by --no-check; this is written into summary.json")
        return "skipped by --no-check"
    from auralab.check import check_pairs

    report = check_pairs(args.noisy, args.clean)
    for finding in report.findings:
        print(finding.line())
    if not report.ok:
        print(
            "evaluate: refusing data that failed `auralab check pairs`; fix it or pass --no-check"
        )
        return None
    return f"passed ({report.n_pairs} pairs)"
