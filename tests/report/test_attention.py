"""Attention maps of the transformer enhancement models, and their figure in ``auralab report``."""

import math
import re
import shutil

import pytest
import torch

from auralab.cli import main
from auralab.enhance.models import build_model
from auralab.enhance.models.blocks import TransformerLayer
from auralab.errors import ConfigError
from auralab.report.attention import attention_layers, attention_maps, capture_attention
from auralab.train import load_checkpoint, save_checkpoint
from tests.enhance.test_train import FAST, _data_overrides

SR = 16000
ATTENTION_MODELS = [
    ("cnn_transformer", {"n_layers": 3, "heads": 2}),
    ("dpt", {"n_blocks": 2, "heads": 4}),
    ("dpt", {"causal_time": True}),
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Small models on a busy 2-core machine: a second intra-op thread mostly waits.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(name: str, kwargs: dict):
    torch.manual_seed(0)
    return build_model(name, **kwargs).eval()


def _noise(seconds: float = 1.0) -> torch.Tensor:
    return 0.1 * torch.randn(int(seconds * SR), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(("name", "kwargs"), ATTENTION_MODELS)
def test_one_map_per_layer_call_heads_by_query_by_key(name, kwargs):
    model = _model(name, kwargs)
    frames = model.stft.frames(SR)  # 1 s -> 63 frames at hop 256
    bands = model.encoder.out_freqs(model.stft.n_freqs)  # 33 band tokens
    maps = attention_maps(model, _noise(), SR)
    if name == "cnn_transformer":
        expected = [("transformer.0", "time"), ("transformer.1", "time"), ("transformer.2", "time")]
    else:  # frequency then time attention in each dual-path block, in the order they run
        expected = [("freq_layers.0", "frequency"), ("time_layers.0", "time")]
        expected += [("freq_layers.1", "frequency"), ("time_layers.1", "time")]
    assert [(m.layer, m.axis) for m in maps] == expected
    for m in maps:
        size = frames if m.axis == "time" else bands
        assert m.weights.shape == (kwargs.get("heads", 4), size, size)
        assert torch.allclose(m.weights.sum(-1), torch.ones(m.weights.shape[:-1]), atol=1e-5)
        assert m.weights.min() >= 0
        assert re.fullmatch(r"band \d+ of 33 \(~\d+ Hz\)|frame \d+ of 63 \([\d.]+ s\)", m.where)
        if m.axis == "time" and kwargs.get("causal_time"):  # no weight on later frames
            assert torch.all(m.weights.triu(1) == 0)


@pytest.mark.parametrize(("name", "kwargs"), ATTENTION_MODELS)
def test_capturing_leaves_the_output_bit_identical(name, kwargs):
    model = _model(name, kwargs)
    x = _noise().unsqueeze(0)
    with torch.no_grad():
        plain = model(x)
        with capture_attention(model) as records:
            hooked = model(x)
        after = model(x)
    assert torch.equal(plain, hooked) and torch.equal(plain, after)
    assert len(records) == len(attention_layers(model))
    assert all(not m._forward_hooks for _, m in attention_layers(model))  # hooks removed


def _forward_before_attention_weights(layer: TransformerLayer, x: torch.Tensor):
    """``TransformerLayer.forward`` as it was before ``attention_weights`` was split out of it."""
    b, length, d = x.shape
    qkv = layer.qkv(layer.attn_norm(x)).reshape(b, length, 3, layer.heads, d // layer.heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    scores = q @ k.transpose(-2, -1) * (d // layer.heads) ** -0.5
    if layer.causal:
        future = torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    weights = scores.softmax(-1)
    y = (weights @ v).transpose(1, 2).reshape(b, length, d)
    x = x + layer.attn_out(y)
    return x + layer.ff(x), weights


@pytest.mark.parametrize("causal", [False, True])
def test_transformer_layer_is_bit_identical_to_its_previous_forward(causal):
    torch.manual_seed(0)
    layer = TransformerLayer(64, heads=4, ff_mult=2, causal=causal)
    x = torch.randn(5, 40, 64)
    with torch.no_grad():
        reference, weights = _forward_before_attention_weights(layer, x)
        assert torch.equal(layer(x), reference)
        assert torch.equal(layer.attention_weights(x), weights)


@pytest.mark.parametrize("name", ["tiny", "crn", "bsrnn"])
def test_models_without_attention_give_no_maps(name):
    model = _model(name, {})
    assert attention_layers(model) == []
    assert attention_maps(model, _noise(0.2), SR) == []


def test_default_slices_are_the_loudest_band_and_frame():
    model = _model("dpt", {})
    t = torch.arange(SR) / SR
    burst = ((t > 0.6) & (t < 0.7)).float()  # loud only between 0.6 and 0.7 s
    wav = torch.sin(2 * math.pi * 1000 * t) * (0.01 + burst)  # 1 kHz: band 4 of 33 (250 Hz apart)
    by_axis = {m.axis: m.where for m in attention_maps(model, wav, SR)}
    assert by_axis["time"] == "band 4 of 33 (~1000 Hz)"
    frame = int(re.fullmatch(r"frame (\d+) of 63 \(([\d.]+) s\)", by_axis["frequency"])[1])
    assert 0.6 <= frame * 256 / SR <= 0.7
    chosen = attention_maps(model, wav, SR, band=0, frame=3)
    assert [m.where for m in chosen[:2]] == ["frame 3 of 63 (0.05 s)", "band 0 of 33 (~0 Hz)"]


def test_bad_input_is_refused():
    model = _model("cnn_transformer", {})
    with pytest.raises(ConfigError, match="8000 Hz, model at 16000 Hz"):
        attention_maps(model, _noise(), 8000)
    with pytest.raises(ConfigError, match=r"\(2, 16000\); expected \(T,\) or \(1, T\) mono"):
        attention_maps(model, torch.zeros(2, SR), SR)
    with pytest.raises(ConfigError, match="band=33 is out of range"):
        attention_maps(model, _noise(), SR, band=33)


def test_figure_is_a_layers_by_heads_grid():
    from auralab.report.plots import attention_figure, png_bytes

    maps = attention_maps(_model("dpt", {"heads": 2}), _noise(0.5), SR)
    fig = attention_figure(maps)
    assert len(fig.axes) == 4 * 2
    assert [ax.get_title() for ax in fig.axes[:2]] == [
        "freq_layers.0, head 1",
        "freq_layers.0, head 2",
    ]
    assert png_bytes(fig).startswith(b"\x89PNG\r\n\x1a\n")


def test_report_of_a_cnn_transformer_run_shows_attention(tmp_path, monkeypatch):
    """Train ``cnn_transformer`` 2 steps with the real CLI, then ``auralab report`` it."""
    import matplotlib.image

    monkeypatch.chdir(tmp_path)
    recipe = str(_recipe("cnn_transformer-shared.toml"))
    run = tmp_path / "run"
    argv = ["train", recipe, *FAST, *_data_overrides(), "--set", "trainer.max_steps=2"]
    assert main([*argv, "--run-dir", str(run)]) == 0
    assert (run / "best.pt").is_file()
    assert main(["report", str(run), "-o", str(tmp_path / "report")]) == 0

    page = (tmp_path / "report" / "report.html").read_text()
    md = (tmp_path / "report" / "report.md").read_text()
    src = re.search(r'<img src="(assets/[^"]*attention\.png)" alt="attention maps', page)[1]
    assert f"]({src})" in md and "attention maps (rows: layers, columns: heads) of best.pt" in md
    assert "time attention within band " in page and "time attention within band " in md
    image = matplotlib.image.imread(tmp_path / "report" / src)  # a PNG that decodes
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100

    # The same run holding a model without attention: the report has no attention figure.
    plain = tmp_path / "tiny_run"
    shutil.copytree(run, plain, ignore=shutil.ignore_patterns("*.pt", "tensorboard"))
    torch.manual_seed(0)
    tiny = build_model("tiny")
    ckpt = load_checkpoint(run / "best.pt")
    ckpt.update(model_name="tiny", model_config=tiny.config(), model=tiny.state_dict())
    ckpt.pop("ema", None)
    save_checkpoint(plain / "best.pt", ckpt)
    assert main(["report", str(plain), "-o", str(tmp_path / "report2")]) == 0
    page = (tmp_path / "report2" / "report.html").read_text()
    assert "attention" not in page and "training curves" in page
    assert not list((tmp_path / "report2" / "assets").glob("*attention*"))


def _recipe(name: str):
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "recipes" / "enhance" / name
