"""``auralab eq``: semantic EQ from the command line, a thin layer over :mod:`auralab.eq`.

``auralab eq terms | generate TERM | interpolate A B | apply IN -o OUT --term T | evaluate``.
Every sub-command takes ``--model`` (a shipped name, a checkpoint or a run folder).
"""

import argparse
import os
from pathlib import Path

from auralab.errors import ConfigError, DataError

SAFE_CSV = Path("safe-db") / "SAFEEqualiserUserData.csv"
SHORT_NAMES = ("LS g", "LS f", "B1 g", "B1 f", "B1 Q", "B2 g", "B2 f", "B2 Q", "B3 g", "B3 f",
               "B3 Q", "HS g", "HS f")  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``eq`` command and its sub-commands to the main ``auralab`` parser."""
    parser = subparsers.add_parser(
        "eq",
        help="semantic EQ: settings from words (SAFE-DB), applied to audio",
        description="Generate 5-band EQ settings from descriptors such as 'warm' or 'bright', "
        "move between them, apply them to audio, and evaluate the models.",
    )
    sub = parser.add_subparsers(dest="eq_command", required=True, metavar="EQ_COMMAND")
    _add_terms(sub)
    _add_generate(sub)
    _add_interpolate(sub)
    _add_apply(sub)
    _add_evaluate(sub)
    parser.set_defaults(run=run)
    return parser


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default="eq-default",
        help="shipped model name, checkpoint .pt or run folder (default: eq-default)",
    )


def _strength_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="0..1: scales every gain (0 = flat, 1 = the full setting; default 1)",
    )


def _add_terms(sub) -> None:
    p = sub.add_parser("terms", help="list the descriptors a model knows")
    _model_arg(p)


def _add_generate(sub) -> None:
    p = sub.add_parser(
        "generate",
        help="print the 13 EQ parameters for a descriptor and plot the response",
        description="Print the 13 EQ parameters for TERM and save its response curve as PNG.",
    )
    p.add_argument("term", help="descriptor, e.g. warm")
    _strength_arg(p)
    _model_arg(p)
    p.add_argument("--plot", type=Path, help="response PNG (default: eq-TERM.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")


def _add_interpolate(sub) -> None:
    p = sub.add_parser(
        "interpolate",
        help="a path of settings from one descriptor to another",
        description="Print STEPS settings moving from term A to term B (latent and term "
        "together) and save their response curves as PNG.",
    )
    p.add_argument("term_a", metavar="A")
    p.add_argument("term_b", metavar="B")
    p.add_argument("--steps", type=int, default=5, help="settings on the path (default 5)")
    _strength_arg(p)
    _model_arg(p)
    p.add_argument("--plot", type=Path, help="response PNG (default: eq-A-B.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")


def _add_apply(sub) -> None:
    p = sub.add_parser(
        "apply",
        help="equalise an audio file with a descriptor's setting",
        description="Equalise IN with the setting for --term, at IN's own sample rate and "
        "channels, and write OUT (loudness-matched to IN by default).",
    )
    p.add_argument("input", type=Path, metavar="IN")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    p.add_argument("--term", required=True, help="descriptor, e.g. warm")
    _strength_arg(p)
    _model_arg(p)
    p.add_argument(
        "--match-loudness",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="match OUT's integrated loudness (BS.1770, pyloudnorm) to IN (default: on)",
    )


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="compare the model, the beta-VAE baseline and the per-term mean on held-out SAFE",
        description="Score generated settings against the held-out split of the model's own "
        "config (grouped by row hash); print the comparison table and write summary.json, "
        "table.txt, latent.png and responses.png.",
    )
    _model_arg(p)
    p.add_argument(
        "--baseline",
        default="eq-betavae",
        help="baseline model (default: eq-betavae, the FlowEQ-style beta-VAE)",
    )
    p.add_argument(
        "--data",
        type=Path,
        help="SAFEEqualiserUserData.csv (default: $AURALAB_SHARED_DATA/safe-db/, else the "
        "model config's data.csv)",
    )
    p.add_argument("-o", "--out", type=Path, default=Path("runs/eq-evaluate"), metavar="DIR")
    p.add_argument("--terms", nargs="+", help="terms to score (default: >= 20 held-out rows)")


def run(args: argparse.Namespace) -> int:
    """Run the ``eq`` sub-command chosen in ``args``; returns the exit status."""
    commands = {
        "terms": _run_terms,
        "generate": _run_generate,
        "interpolate": _run_interpolate,
        "apply": _run_apply,
        "evaluate": _run_evaluate,
    }
    return commands[args.eq_command](args)


def _run_terms(args) -> int:
    from auralab.eq.pretrained import load_model

    model = load_model(args.model)
    print(f"{len(model.terms)} terms (most training rows first): {', '.join(model.terms)}")
    return 0


def _run_generate(args) -> int:
    from auralab.eq.generate import generate, response_figure, save_figure
    from auralab.eq.normalise import format_setting
    from auralab.eq.pretrained import load_model

    model = load_model(args.model)
    params = generate(model, args.term, args.strength)
    print(f"{args.term} (strength {args.strength:.2f}, model {args.model}):")
    print("\n".join(format_setting(params)))
    if not args.no_plot:
        path = args.plot or Path(f"eq-{_slug(args.term)}.png")
        label = f"{args.term} ({args.strength:.2f})"
        save_figure(response_figure({label: params}, title=f"auralab eq: {args.term}"), path)
        print(f"response curve: {path}")
    return 0


def _run_interpolate(args) -> int:
    from auralab.eq.generate import interpolate, response_figure, save_figure
    from auralab.eq.pretrained import load_model

    model = load_model(args.model)
    path = interpolate(model, args.term_a, args.term_b, args.steps, args.strength)
    print(f"{args.term_a} -> {args.term_b}, {args.steps} steps (model {args.model}):")
    print(f"{'t':>5}" + "".join(f"{n:>9}" for n in SHORT_NAMES))
    for t, row in zip(_fractions(args.steps), path.tolist(), strict=True):
        print(f"{t:5.2f}" + "".join(f"{v:9.2f}" for v in row))
    if not args.no_plot:
        out = args.plot or Path(f"eq-{_slug(args.term_a)}-{_slug(args.term_b)}.png")
        curves = {f"t={t:.2f}": p for t, p in zip(_fractions(args.steps), path, strict=True)}
        title = f"auralab eq: {args.term_a} -> {args.term_b}"
        save_figure(response_figure(curves, title=title), out)
        print(f"response curves: {out}")
    return 0


def _run_apply(args) -> int:
    from auralab.eq.generate import apply_file, generate
    from auralab.eq.pretrained import load_model

    params = generate(load_model(args.model), args.term, args.strength)
    note = apply_file(args.input, args.output, params, args.match_loudness)
    print(f"{args.output}: {args.term} (strength {args.strength:.2f}) applied; {note}")
    return 0


def _run_evaluate(args) -> int:
    from auralab.audio import load
    from auralab.config import from_dict
    from auralab.eq import evaluate as ev
    from auralab.eq.config import EqConfig
    from auralab.eq.generate import example_music_path
    from auralab.eq.pretrained import load_checkpoint_of, load_model
    from auralab.eq.task import load_splits

    ckpt, _ = load_checkpoint_of(args.model)
    base_ckpt, _ = load_checkpoint_of(args.baseline)
    if ckpt["config"].get("data") != base_ckpt["config"].get("data"):
        raise ConfigError(
            f"--baseline {args.baseline} was trained on other data keys than --model "
            f"{args.model}; train both from recipes that share data.* (recipes/eq/)"
        )
    config = from_dict(EqConfig, ckpt["config"])
    splits, vocab = load_splits(config, str(_safe_csv(args.data, config.data.csv)))
    model, baseline = load_model(args.model), load_model(args.baseline)
    if model.terms != vocab or baseline.terms != vocab:
        raise DataError(
            f"{args.data or config.data.csv}: gives other terms than the models were trained "
            "on; pass the SAFE csv the models were trained with (--data)"
        )
    systems = [
        ev.ModelSystem(f"auralab {ckpt['model_name']}", model),
        ev.ModelSystem(f"{base_ckpt['model_name']} (FlowEQ)", baseline),
        ev.MeanSystem(splits["train"], vocab),
    ]
    wav, sr = load(example_music_path(), mono=False)
    result = ev.evaluate(
        systems, splits["train"], splits["test"], vocab, (wav.numpy(), sr), args.terms
    )
    result.plots = [
        str(ev.plot_latents(systems, splits["test"], result.terms, args.out / "latent.png")),
        str(
            ev.plot_responses(
                systems, splits["test"], vocab, result.terms, args.out / "responses.png"
            )
        ),
    ]
    ev.write_report(result, args.out)
    print(result.table())
    print(f"wrote {args.out}/summary.json, table.txt, latent.png, responses.png")
    return 0


def _safe_csv(given: Path | None, configured: str) -> Path:
    if given is not None:
        return given
    shared = os.environ.get("AURALAB_SHARED_DATA")
    path = Path(shared) / SAFE_CSV if shared else Path(configured)
    if not path.is_file():
        raise DataError(
            f"{path}: SAFE-DB csv not found; pass --data PATH/SAFEEqualiserUserData.csv "
            "or set AURALAB_SHARED_DATA"
        )
    return path


def _fractions(steps: int) -> list[float]:
    return [i / (steps - 1) for i in range(steps)] if steps > 1 else [0.0]


def _slug(term: str) -> str:
    return "-".join(term.lower().split()) or "term"
