"""The ``auralab`` command: a thin layer over the Python API.

Each subcommand lives next to the code it drives, as a module with ``add_parser(subparsers)``
and ``run(args) -> int``. User errors (``AuralabError``) print one line and exit 2.
"""

import argparse
import importlib
import sys

from auralab import __version__
from auralab.errors import AuralabError

# name -> module providing add_parser(subparsers) and run(args)
COMMANDS = {
    "check": "auralab.check.cli",
    "enhance": "auralab.enhance.infer",
    "evaluate": "auralab.enhance.evaluate",
    "train": "auralab.train.cli",
    "classify": "auralab.classify.infer",
    "crossval": "auralab.classify.crossval",
    "eq": "auralab.eq.cli",
    "export": "auralab.enhance.export",
    "stream": "auralab.enhance.stream_cli",
    "vad": "auralab.enhance.vad",
    "report": "auralab.report.cli",
    "demo": "auralab.demo.cli",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``auralab`` parser; with ``only``, just that command's module is imported (each one
    pulls in torch, scipy, ...: importing all of them would cost every call seconds)."""
    parser = argparse.ArgumentParser(
        prog="auralab",
        description="auralab: lightweight audio deep learning that cannot lie to its user.",
    )
    parser.add_argument("--version", action="version", version=f"auralab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``auralab`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except AuralabError as e:
        print(f"auralab {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"auralab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
