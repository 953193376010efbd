"""The Gradio page: three tabs over :mod:`auralab.demo.handlers`.

Offline by construction: analytics off, server-side rendering off (it needs Node.js), and a
theme with system fonts only, so the page requests nothing from outside this machine (the
browser test checks every request). Errors reach the page as one-line messages; nothing
raises a traceback into the server log.
"""

import functools
import os
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402

from auralab.demo import handlers  # noqa: E402
from auralab.demo.config import AUDIO_UPLOAD_TYPES, DemoConfig  # noqa: E402
from auralab.enhance.evaluate import example_dirs  # noqa: E402
from auralab.eq.generate import example_music_path  # noqa: E402
from auralab.errors import AuralabError  # noqa: E402

SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "Menlo", "Consolas", "monospace"]


def _shown(fn):
    """Run a handler; any error becomes a message in the page (``gr.Error``)."""

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except AuralabError as e:
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # noqa: BLE001 - a bug must still answer the page, in one line
            print(f"auralab demo: {fn.__name__}: {type(e).__name__}: {e}", file=sys.stderr)
            raise gr.Error(
                f"internal error ({type(e).__name__}: {e}); please report it", print_exception=False
            ) from None

    return wrapper


def _notes(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _metrics_markdown(rows: list[dict]) -> str:
    if not rows:
        return "*Upload the clean reference to score noisy and enhanced against it.*"
    head = "| metric | noisy (unprocessed) | enhanced | change |\n|---|---:|---:|---:|\n"
    body = "".join(
        f"| {r['metric']} | {r['noisy']:.3f} | {r['enhanced']:.3f} | {r['delta']:+.3f} |\n"
        for r in rows
    )
    return head + body


def build_app(cfg: DemoConfig, out_root: str | os.PathLike) -> gr.Blocks:
    """The demo page. Outputs of each request go to a fresh folder under ``out_root``."""
    out_root = Path(out_root)

    def out_dir() -> Path:
        return out_root / uuid.uuid4().hex[:12]

    @_shown
    def run_enhance(noisy, clean, model, vad):
        r = handlers.enhance(noisy, model, cfg, out_dir(), vad=vad, clean=clean)
        return str(r.audio), str(r.spectrograms), _metrics_markdown(r.metrics), _notes(r.notes)

    @_shown
    def run_classify(path):
        r = handlers.classify(path, cfg, out_dir())
        return dict(r.top), str(r.figure), _notes(r.notes)

    @_shown
    def run_eq(term, strength, towards, position, audio):
        r = handlers.equalise(term, cfg, out_dir(), strength, towards, position, audio)
        rows = [[name, round(value, 2), unit] for name, value, unit in r.setting]
        return str(r.response), str(r.audio), rows, r.note

    terms = handlers.eq_terms(cfg)
    noisy_dir, clean_dir = example_dirs()
    example = "p232_007.wav"
    upload_types = list(AUDIO_UPLOAD_TYPES)
    limits = (
        f"Uploads: {', '.join(upload_types)}, up to {cfg.max_upload_mb:g} MiB and "
        f"{cfg.min_duration_s:g}-{cfg.max_duration_s:g} s."
    )
    with gr.Blocks(title="auralab demo", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(
            "# auralab\nSpeech enhancement, sound classification and semantic EQ with the "
            f"models shipped in the package. Everything runs on this machine. {limits}"
        )
        with gr.Tab("Enhance", id="enhance"):
            with gr.Row():
                with gr.Column():
                    noisy = gr.Audio(
                        sources=["upload", "microphone"],
                        type="filepath",
                        label="Noisy speech (upload or record)",
                        elem_id="enhance-noisy",
                    )
                    clean = gr.Audio(
                        sources=["upload"],
                        type="filepath",
                        label="Clean reference (optional: enables the metrics)",
                        elem_id="enhance-clean",
                    )
                    model = gr.Dropdown(
                        cfg.enhance_models, value=cfg.enhance_models[0], label="Model"
                    )
                    vad = gr.Checkbox(
                        False,
                        label=f"Voice-activity gating (non-speech -{cfg.vad_attenuation_db:g} dB)",
                    )
                    go = gr.Button("Enhance", variant="primary", elem_id="enhance-run")
                    gr.Examples(
                        [[str(noisy_dir / example), str(clean_dir / example)]],
                        inputs=[noisy, clean],
                        label="Bundled VoiceBank-DEMAND example (CC BY 4.0)",
                    )
                with gr.Column():
                    enhanced = gr.Audio(
                        type="filepath", label="Enhanced", interactive=False, elem_id="enhance-out"
                    )
                    spectrograms = gr.Image(
                        type="filepath", label="Spectrograms", elem_id="enhance-spectrograms"
                    )
                    metrics = gr.Markdown(elem_id="enhance-metrics")
                    notes = gr.Markdown(elem_id="enhance-notes")
            go.click(
                run_enhance,
                [noisy, clean, model, vad],
                [enhanced, spectrograms, metrics, notes],
                api_name="enhance",
            )
        with gr.Tab("Classify", id="classify"):
            with gr.Row():
                with gr.Column():
                    sound = gr.Audio(
                        sources=["upload", "microphone"],
                        type="filepath",
                        label="Sound (upload or record)",
                        elem_id="classify-audio",
                    )
                    go = gr.Button("Classify", variant="primary", elem_id="classify-run")
                    gr.Markdown(f"Classifier: `{cfg.classifier}`")
                with gr.Column():
                    labels = gr.Label(num_top_classes=5, label="Top 5", elem_id="classify-labels")
                    figure = gr.Image(
                        type="filepath", label="Waveform and log-mel", elem_id="classify-figure"
                    )
                    classify_notes = gr.Markdown(elem_id="classify-notes")
            go.click(run_classify, [sound], [labels, figure, classify_notes], api_name="classify")
        with gr.Tab("EQ", id="eq"):
            with gr.Row():
                with gr.Column():
                    term = gr.Dropdown(
                        terms,
                        value="warm" if "warm" in terms else terms[0],
                        allow_custom_value=True,
                        label="Descriptor (pick or type)",
                        elem_id="eq-term",
                    )
                    strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength")
                    towards = gr.Dropdown(
                        ["", *terms],
                        value="",
                        allow_custom_value=True,
                        label="Interpolate towards (optional)",
                        elem_id="eq-towards",
                    )
                    position = gr.Slider(0, 1, value=0.5, step=0.05, label="Position")
                    music = gr.Audio(
                        sources=["upload"],
                        type="filepath",
                        label=f"Audio (empty: the bundled {example_music_path().name})",
                        elem_id="eq-audio",
                    )
                    go = gr.Button("Apply EQ", variant="primary", elem_id="eq-run")
                with gr.Column():
                    response = gr.Image(type="filepath", label="Response", elem_id="eq-response")
                    equalised = gr.Audio(
                        type="filepath", label="Equalised", interactive=False, elem_id="eq-out"
                    )
                    setting = gr.Dataframe(
                        headers=["parameter", "value", "unit"],
                        label="Setting",
                        interactive=False,
                        elem_id="eq-setting",
                    )
                    eq_note = gr.Markdown(elem_id="eq-note")
            go.click(
                run_eq,
                [term, strength, towards, position, music],
                [response, equalised, setting, eq_note],
                api_name="eq",
            )
    return app


def free_port(host: str) -> int:
    """A TCP port nobody listens on right now (for ``port = 0``)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(cfg: DemoConfig, block: bool = True):
    """Start the demo on ``cfg.host:cfg.port``; returns ``(app, url)`` when not blocking."""
    import torch

    torch.set_num_threads(cfg.threads)
    out_root = Path(tempfile.mkdtemp(prefix="auralab-demo-"))
    app = build_app(cfg, out_root)
    theme = gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)
    _, url, _ = app.launch(
        server_name=cfg.host,
        server_port=cfg.port or free_port(cfg.host),
        prevent_thread_lock=not block,
        allowed_paths=[str(out_root)],
        max_file_size=f"{cfg.max_upload_mb:g}mb",
        ssr_mode=False,
        share=False,
        show_error=True,
        footer_links=[],
        theme=theme,
        quiet=not block,
    )
    return app, url
