"""``auralab stream``: the bundled example through an exported and a PyTorch model, timed."""

import time

import numpy as np
import pytest
import torch

from auralab.audio import load
from auralab.cli import main
from auralab.enhance.evaluate import example_dirs
from auralab.enhance.export import export_onnx
from auralab.enhance.onnx_runtime import OnnxStreamingEnhancer
from auralab.enhance.stream_cli import simulate_stream
from auralab.train.checkpoint import save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def example():
    path = sorted(example_dirs()[0].glob("*.wav"))[0]
    return path, load(path)[0]


def test_stream_with_an_exported_model_prints_the_latency_table(tiny, example, tmp_path, capsys):
    export_onnx(tiny, tmp_path / "onnx")
    path, wav = example
    out = tmp_path / "out.wav"
    assert main(["stream", str(path), "-o", str(out), "--model", str(tmp_path / "onnx")]) == 0
    printed = capsys.readouterr().out
    for word in ("p50", "p99", "max", "chunk 10.00 ms", "real-time factor", "onnxruntime fp32"):
        assert word in printed
    y, sr = load(out)
    assert sr == 16000 and y.numel() == wav.numel()
    with torch.no_grad():
        offline = tiny(wav[None])[0]
    assert (y - offline).abs().max() <= 1e-4  # aligned: the latency is removed


def test_stream_with_a_pytorch_checkpoint(tiny, example, tmp_path, capsys):
    state = {"model_name": "tiny", "model_config": tiny.config(), "model": tiny.state_dict()}
    ckpt = save_checkpoint(tmp_path / "tiny.pt", state)
    path, wav = example
    out = tmp_path / "out.wav"
    argv = ["stream", str(path), "-o", str(out), "--model", str(ckpt), "--chunk-ms", "20"]
    assert main(argv) == 0
    assert "chunk 20.00 ms" in capsys.readouterr().out
    y = load(out)[0]
    with torch.no_grad():
        offline = tiny(wav[None])[0]
    # StreamingEnhancer matches offline up to its flushed tail (tests/enhance/test_stream.py).
    body = wav.numel() - tiny.stft.n_fft
    assert (y[:body] - offline[:body]).abs().max() <= 1e-5


def test_realtime_paces_chunks_to_the_wall_clock(tiny, tmp_path):
    export_onnx(tiny, tmp_path)
    wav = np.zeros(4800, np.float32)  # 0.3 s
    start = time.perf_counter()
    out, timings = simulate_stream(OnnxStreamingEnhancer(tmp_path), wav, 16000, 10, True)
    assert time.perf_counter() - start >= 0.3
    assert len(timings.wall) == 30 and out.shape == wav.shape
    assert set(timings.percentiles()) == {"p50", "p99", "max"}
