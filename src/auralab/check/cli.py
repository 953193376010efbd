"""``auralab check``: data checks from the command line, a thin layer over :mod:`auralab.check`.

``auralab check pairs NOISY_DIR CLEAN_DIR``, ``auralab check dataset DIR`` and
``auralab check splits TRAIN VAL`` (or ``DATASET`` with a fold column) print one line per finding
(errors first) and exit 1 when any finding is an error, 0 otherwise (warnings are printed but do
not fail the check).
"""

import argparse
import sys

from auralab.check.finding import Finding
from auralab.check.pairs import CheckReport, check_pairs


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``check`` command and its sub-commands to the main ``auralab`` parser."""
    parser = subparsers.add_parser(
        "check",
        help="check data before training or evaluating on it",
        description="Check data before training or evaluating on it.",
    )
    sub = parser.add_subparsers(dest="check_command", required=True, metavar="CHECK")
    pairs = sub.add_parser(
        "pairs",
        help="check paired noisy/clean folders (rate, length, alignment, pairing, levels)",
        description="Check that NOISY_DIR and CLEAN_DIR hold usable noisy/clean pairs, paired "
        "by relative path. Exit 1 when any pair has an error, 0 when all are usable.",
    )
    pairs.add_argument("noisy_dir", metavar="NOISY_DIR", help="folder of noisy mixtures")
    pairs.add_argument("clean_dir", metavar="CLEAN_DIR", help="folder of clean references")
    pairs.add_argument("--sr", type=int, metavar="HZ", help="expected sample rate in Hz")
    pairs.add_argument(
        "--max-lag-ms",
        type=float,
        default=50.0,
        metavar="MS",
        help="largest noisy/clean offset searched, in ms (default: 50)",
    )
    pairs.add_argument(
        "--workers", type=int, default=1, metavar="N", help="parallel readers (default: 1)"
    )
    pairs.set_defaults(run=run)
    _add_dataset(sub)
    _add_splits(sub)
    return parser


def _add_dataset(sub) -> None:
    p = sub.add_parser(
        "dataset",
        help="check a labelled clip dataset (rows vs files, labels, folds, rates, duplicates)",
        description="Check a labelled clip dataset: ESC-50 layout (meta/esc50.csv), a CSV of "
        "path,label[,group][,fold], or one folder per class. Every row needs a readable file and "
        "every file a row; labels and folds must be consistent; durations and sample rates are "
        "reported; duplicated audio is found by hash of the decoded signal. Exit 1 on errors.",
    )
    p.add_argument("dataset", metavar="DIR", help="dataset folder or its CSV")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="parallel decoders")
    p.set_defaults(run=run)


def _add_splits(sub) -> None:
    p = sub.add_parser(
        "splits",
        help="audit a split for leakage (shared files, source recordings, near-identical audio)",
        description="Audit a split for leakage: TRAIN and VAL (CSV files or dataset folders), or "
        "one DATASET whose fold column is audited fold against fold. Finds clips on both sides, "
        "source recordings (src_file / group) on both sides, and identical or near-identical "
        "audio on both sides. Exit 1 with the offending clip ids when anything leaks.",
    )
    p.add_argument("tables", nargs="+", metavar="TABLE", help="TRAIN VAL, or one DATASET")
    p.add_argument(
        "--no-audio", action="store_true", help="compare names and groups only (no decoding)"
    )
    p.add_argument("--workers", type=int, default=1, metavar="N", help="parallel decoders")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``check`` sub-command chosen in ``args``; returns the exit status."""
    commands = {"pairs": _run_pairs, "dataset": _run_dataset, "splits": _run_splits}
    return commands[args.check_command](args)


def _run_pairs(args: argparse.Namespace) -> int:
    report = check_pairs(
        args.noisy_dir,
        args.clean_dir,
        sr=args.sr,
        max_lag_ms=args.max_lag_ms,
        workers=args.workers,
        progress=sys.stderr.isatty(),
    )
    for finding in report.findings:
        print(_format(finding))
    print(summary(report))
    return 0 if report.ok else 1


def _run_dataset(args: argparse.Namespace) -> int:
    from auralab.check.dataset import check_dataset
    from auralab.eq.data import check_safe, is_safe_csv  # CLI layer: may call any task

    if is_safe_csv(args.dataset):  # SAFE-DB equaliser data (semantic EQ)
        safe = check_safe(args.dataset)
        for line in safe.summary_lines():
            print(line)
        for finding in safe.findings:
            print(_format(finding))
        return 0 if safe.ok else 1

    report = check_dataset(args.dataset, workers=args.workers)
    for finding in report.findings:
        print(_format(finding))
    t = report.table
    lo, mid, hi = report.seconds
    rates = ", ".join(f"{sr} Hz x {n}" for sr, n in report.rates.items())
    folds = sorted({c.fold for c in t.clips}) if t.has_folds else "none"
    print(
        f"{len(t.clips)} clips ({t.layout} layout), {len(t.labels)} labels, folds: {folds}, "
        f"groups: {'yes' if t.has_groups else 'no'}; durations {lo:.2f}/{mid:.2f}/{hi:.2f} s "
        f"(min/median/max); rates: {rates}"
    )
    n_err = sum(f.is_error for f in report.findings)
    print(f"{n_err} errors" if n_err else "no errors")
    return 0 if report.ok else 1


def _run_splits(args: argparse.Namespace) -> int:
    from auralab.check.splits import check_folds, check_split
    from auralab.errors import ConfigError

    audio = not args.no_audio
    if len(args.tables) == 1:
        report = check_folds(args.tables[0], audio=audio, workers=args.workers)
        what = f"folds of {args.tables[0]}"
    elif len(args.tables) == 2:
        report = check_split(*args.tables, audio=audio, workers=args.workers)
        what = f"{args.tables[0]} (train) against {args.tables[1]} (val)"
    else:
        raise ConfigError("check splits: give TRAIN VAL, or one DATASET with a fold column")
    for finding in report.findings:
        print(_format(finding))
    if report.ok:
        print(f"{what}: no leak")
        return 0
    n = len(report.leaked_ids)
    print(f"{what}: {n} clips leak: {' '.join(report.leaked_ids)}")
    return 1


def _format(finding: Finding) -> str:
    return f"{finding.severity}: {finding.line()}"


def summary(report: CheckReport) -> str:
    """One line saying how many pairs were checked and how many have problems."""
    if not report.ok:
        return f"{report.n_pairs - report.n_ok} of {report.n_pairs} pairs have problems"
    pairs = "pair" if report.n_pairs == 1 else "pairs"
    line = f"{report.n_pairs} {pairs} checked: all aligned, same rate, same length"
    n_warn = len(report.warnings)
    if n_warn:
        line += f" ({n_warn} warning{'s' if n_warn > 1 else ''} above)"
    return line
