"""Attention maps of the transformer enhancement models, per layer and head.

``cnn_transformer`` and ``dpt`` attend through ``TransformerLayer`` over sequences of band
tokens. While :func:`capture_attention` is active, a forward hook on every such layer computes
the layer's softmax weights from its input with ``TransformerLayer.attention_weights`` (the code
``forward`` itself runs) and keeps them. The hook returns nothing and the model has no dropout,
so its output is bit-identical with and without it (``tests/report/test_attention.py``).

One layer call covers many sequences: time attention runs once per band token, frequency
attention (``dpt``) once per frame. A map shows one of them: time layers the band chosen by
``band`` and frequency layers the frame chosen by ``frame``, by default the loudest band and the
loudest frame of the input. Models without attention (``tiny``, ``crn``, ``bsrnn``) give no maps.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from auralab.enhance.models.blocks import TransformerLayer
from auralab.errors import ConfigError

EXAMPLE_CLIP = "noisy/p232_007.wav"  # under auralab/examples: VoiceBank-DEMAND, CC BY 4.0


@dataclass
class AttentionMap:
    """The attention weights of one layer on one sequence.

    Attributes:
        layer: module name in the model, e.g. ``"transformer.0"`` or ``"freq_layers.1"``.
        axis: what queries and keys are: ``"time"`` (frames) or ``"frequency"`` (band tokens).
        where: the sequence shown, in words: ``"band 2 of 33 (~500 Hz)"`` for time attention,
            ``"frame 57 of 126 (1.78 s)"`` for frequency attention.
        weights: ``(heads, query, key)`` float32; each row sums to 1 (softmax); with causal time
            attention the weights on later frames are 0.
        step: distance between neighbouring positions in ``unit`` (hop in seconds, or band
            spacing in kHz); position ``i`` is centred at ``i * step``.
        unit: ``"s"`` or ``"kHz"``.
    """

    layer: str
    axis: str
    where: str
    weights: torch.Tensor
    step: float
    unit: str


def attention_layers(model: nn.Module) -> list[tuple[str, TransformerLayer]]:
    """``(module name, layer)`` of every attention layer in ``model``; ``[]`` when it has none."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, TransformerLayer)]


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[list[tuple[str, torch.Tensor]]]:
    """Record the attention weights of every attention-layer call while the block runs.

    Yields a list that fills, in call order, with ``(module name, weights (B', H, L, L))``:
    for a layer used ``along_time`` ``B' = B * K`` band tokens and ``L = N`` frames, for one used
    ``along_freq`` ``B' = B * N`` and ``L = K``. The hooks are removed on exit.
    """
    records: list[tuple[str, torch.Tensor]] = []

    def hook(name: str):
        def record(layer: TransformerLayer, args: tuple, output: torch.Tensor) -> None:
            with torch.no_grad():
                records.append((name, layer.attention_weights(args[0]).detach()))

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in attention_layers(model)]
    try:
        yield records
    finally:
        for h in handles:
            h.remove()


def attention_maps(
    model: nn.Module,
    wav: torch.Tensor,
    sr: int,
    band: int | None = None,
    frame: int | None = None,
) -> list[AttentionMap]:
    """Attention weights of every attention layer and head of an enhancement model on ``wav``.

    Args:
        model: a ``MaskingEnhancer`` (e.g. from ``auralab.enhance.pretrained.load_model``); it
            runs in eval mode and is left in the mode it was in.
        wav: ``(T,)`` or ``(1, T)`` mono waveform at ``sr`` Hz. Keep it to a few seconds: a time
            layer's weights are ``bands x heads x frames x frames`` before one band is kept.
        sr: sample rate of ``wav`` in Hz; must be the model's ``model.sr``.
        band: band token whose time attention is shown (``None``: the one holding the most
            energy of ``wav``). Token ``k`` of ``K`` is centred near ``k / (K - 1) * sr / 2``.
        frame: STFT frame whose frequency attention is shown (``None``: the loudest).

    Returns:
        One map per layer call, in the order the model runs them (``dpt``: frequency, time,
        frequency, ...); ``[]`` for a model without attention.

    Raises:
        ConfigError: ``wav`` is not mono, ``sr`` is not the model's, or ``band``/``frame`` is
            out of range.
    """
    if not attention_layers(model):
        return []
    wav = _mono_batch(wav).to(next(model.parameters()).device)
    if sr != model.sr:
        raise ConfigError(f"waveform at {sr} Hz, model at {model.sr} Hz; resample it first")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), capture_attention(model) as records:
            model(wav)
    finally:
        model.train(was_training)
    power = model.stft.forward(wav[0]).abs().square().cpu()  # (F, N)
    return [_one_map(name, w, power, model, band, frame) for name, w in records]


def _mono_batch(wav: torch.Tensor) -> torch.Tensor:
    if wav.dim() == 1:
        wav = wav.unsqueeze(0)
    if wav.dim() != 2 or wav.shape[0] != 1:
        raise ConfigError(f"waveform has shape {tuple(wav.shape)}; expected (T,) or (1, T) mono")
    return wav.float()


def _one_map(name, weights, power, model, band, frame) -> AttentionMap:
    """Pick one sequence of a ``(B', H, L, L)`` record (batch of 1) and say where it lies."""
    n_frames = power.shape[1]
    # Layers in a list named ``freq_layers`` attend across frequency (dpt); all others across
    # time (cnn_transformer's ``transformer``, dpt's ``time_layers``).
    freq = name.split(".")[0] == "freq_layers"
    if (weights.shape[0] if freq else weights.shape[-1]) != n_frames:
        raise RuntimeError(f"{name}: weights {tuple(weights.shape)} do not fit {n_frames} frames")
    if freq:
        n_bands = weights.shape[-1]
        frame = int(power.sum(0).argmax()) if frame is None else _in_range(frame, n_frames, "frame")
        where = f"frame {frame} of {n_frames} ({frame * model.stft.hop / model.sr:.2f} s)"
        step = model.sr / 2 / (n_bands - 1) / 1000  # kHz between band centres
        return AttentionMap(
            name, "frequency", where, weights[frame].float().cpu().clone(), step, "kHz"
        )
    n_bands = weights.shape[0]
    band = _loudest_band(power, n_bands) if band is None else _in_range(band, n_bands, "band")
    where = f"band {band} of {n_bands} (~{band / max(n_bands - 1, 1) * model.sr / 2:.0f} Hz)"
    step = model.stft.hop / model.sr  # seconds between frames
    return AttentionMap(name, "time", where, weights[band].float().cpu().clone(), step, "s")


def _loudest_band(power: torch.Tensor, n_bands: int) -> int:
    """Band token holding the most energy; STFT bin ``f`` goes to the token centred nearest."""
    n_freqs = power.shape[0]
    token = torch.round(torch.arange(n_freqs) * (n_bands - 1) / max(n_freqs - 1, 1)).long()
    energy = torch.zeros(n_bands, dtype=power.dtype).index_add_(0, token, power.sum(1))
    return int(energy.argmax())


def _in_range(index: int, size: int, what: str) -> int:
    if not 0 <= index < size:
        raise ConfigError(f"{what}={index} is out of range; this input has {what}s 0..{size - 1}")
    return index


def example_attention(run_dir: str | Path, seconds: float = 2.0) -> tuple[list[AttentionMap], str]:
    """Attention maps of a training run on the bundled noisy example clip.

    Loads the run's ``best.pt`` (``last.pt`` when there is no best yet) as ``auralab enhance``
    does (EMA weights when kept), reads the first ``seconds`` of ``examples/noisy/p232_007.wav``
    at the model's rate and calls :func:`attention_maps`.

    Returns:
        ``(maps, what was run)``, e.g. ``"best.pt on the first 2.0 s of p232_007.wav"``.
    """
    from auralab.audio import load
    from auralab.enhance.pretrained import load_model

    run_dir = Path(run_dir)
    checkpoint = run_dir / ("best.pt" if (run_dir / "best.pt").exists() else "last.pt")
    model = load_model(checkpoint)
    clip = Path(str(resources.files("auralab") / "examples" / EXAMPLE_CLIP))
    wav, sr = load(clip, sr=model.sr, mono="strict")
    maps = attention_maps(model, wav[: int(seconds * sr)], sr)
    return maps, f"{checkpoint.name} on the first {seconds:.1f} s of {clip.name}"
