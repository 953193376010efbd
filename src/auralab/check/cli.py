"""``auralab check``: data checks from the command line, a thin layer over :mod:`auralab.check`.

``auralab check pairs NOISY_DIR CLEAN_DIR`` prints one line per finding (errors first) and exits
1 when any finding is an error, 0 otherwise (warnings are printed but do not fail the check).
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
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the ``check`` sub-command chosen in ``args``; returns the exit status."""
    commands = {"pairs": _run_pairs}
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
