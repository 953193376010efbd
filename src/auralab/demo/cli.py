"""``auralab demo``: serve the Gradio page (enhance, classify, EQ) on this machine."""

import argparse

from auralab.config import add_set_argument


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "demo",
        help="web demo of the three tasks (Gradio, offline)",
        description="Serve a Gradio page with one tab per task: enhance (upload or record, "
        "spectrograms, metrics beside the noisy baseline when a clean reference is given), "
        "classify (top-5 labels, log-mel) and EQ (descriptors, strength, interpolation). "
        "Nothing is fetched from the internet.",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="TCP port (default 7860; 0 picks a free one)")
    p.add_argument("--config", help="TOML file with DemoConfig keys (limits, models)")
    add_set_argument(p, "max_duration_s=30")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from auralab.config import load_config, override
    from auralab.demo.config import DemoConfig
    from auralab.errors import ConfigError

    overrides = list(args.overrides)
    if args.host is not None:
        overrides.append(override("host", args.host))
    if args.port is not None:
        overrides.append(override("port", args.port))
    cfg = load_config(DemoConfig, args.config, overrides)
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise ConfigError(
            'the demo needs gradio, which is not installed: pip install -e ".[demo]"'
        ) from None
    from auralab.demo.app import serve

    print(f"auralab demo: serving on http://{cfg.host}:{cfg.port or '(free port)'} (Ctrl+C stops)")
    serve(cfg, block=True)
    return 0
