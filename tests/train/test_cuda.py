"""The GPU paths the CPU suite cannot reach, on real speech.

Device parity of every enhancement model, one bf16-autocast training step per model, the trainer
on CUDA (amp, checkpoints, exact resume, ``torch.compile``) and streaming with a model on CUDA.
Every test skips without a CUDA device, so CI pays nothing for them. Comparisons run with TF32
off: TF32 matrix products keep 10 mantissa bits, and their ~1e-3 relative error would hide the
differences these tests look for.

The enhancement loss is built as ``EnhanceTask`` builds it (``WeightedLoss(config.loss)``) and
called as ``EnhanceTask.training_loss`` calls it; importing ``EnhanceTask`` itself would pull in
the PESQ C extension, which a bare GPU machine may not be able to build.
"""

import copy
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import torch

from auralab.audio import load
from auralab.enhance.config import EnhanceConfig
from auralab.enhance.losses import WeightedLoss
from auralab.enhance.models import MODELS, build_model
from auralab.enhance.stream import StreamingEnhancer
from auralab.errors import ConfigError
from auralab.train import Trainer, load_checkpoint
from tests.conftest import random_chunks
from tests.train.toy import ToyConfig, ToyModel, ToyTask

DEVICE = "cuda"
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

if torch.cuda.is_available():
    # cuBLAS reads this when it first starts; the trainer sets it too (deterministic=True), but
    # only when a Trainer is built, after earlier tests in this process may have started cuBLAS.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

VARIANTS = [(name, {}) for name in MODELS.names()] + [
    ("dpt", {"causal_time": True}),
    ("bsrnn", {"causal": False}),  # bsrnn is causal by default; this is its offline option
    ("tiny", {"mask": "mag"}),  # the magnitude-mask branch of MaskingEnhancer.apply_mask
]
IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in VARIANTS]
STREAMABLE = ["tiny", "crn", "bsrnn"]  # the models with a frame step (init_state/masker_step)

# CUDA float32 against CPU float32. On this input every model's CPU float32 output is within
# 3e-7 of its float64 output (peaks 0.14-0.41); CUDA reorders the same sums (cuFFT, cuDNN RNNs,
# cuBLAS), so honest device differences are ~1e-6. A wrong kernel, a skipped op or TF32 left on
# (~1e-3 relative) shows up at 1e-3 or more: 1e-4 sits between the two with room on both sides.
PARITY_ATOL = 1e-4
# bf16 autocast against float32, per loss term. With the mask in float32, CPU bf16 autocast
# moves each term by <= 0.5 % and keeps the gradient's direction (cosine >= 0.998); CUDA autocast
# also runs the cuDNN RNNs in bf16, so allow 5 %.
BF16_RTOL = 0.05
BF16_GRAD_COSINE = 0.95
ENHANCE_LOSS = EnhanceConfig().loss  # what EnhanceTask trains with: {term: weight}


@pytest.fixture(autouse=True)
def no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.fixture
def restore_determinism():
    """``deterministic=True`` switches torch's global flag on; give the next test its own."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


@pytest.fixture(scope="module")
def speech() -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled p232_007 pair cut into two ~2 s items: noisy and clean ``(2, T)`` at 16 kHz."""
    root = Path(str(resources.files("auralab") / "examples"))
    noisy, sr = load(root / "noisy" / "p232_007.wav")
    clean, _ = load(root / "clean" / "p232_007.wav")
    assert sr == 16000
    n = noisy.numel() // 2
    return torch.stack([noisy[:n], noisy[n : 2 * n]]), torch.stack([clean[:n], clean[n : 2 * n]])


# ---- a. every model gives the same output on CUDA as on CPU --------------------------------
@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=IDS)
def test_model_on_cuda_equals_cpu(name, kwargs, speech):
    noisy, _ = speech
    torch.manual_seed(0)
    model = build_model(name, **kwargs).eval()
    with torch.no_grad():
        on_cpu = model(noisy)
        on_cuda = copy.deepcopy(model).to(DEVICE)(noisy.to(DEVICE))
    assert on_cuda.device.type == DEVICE and on_cuda.dtype == torch.float32
    assert on_cpu.abs().max() > 1e-2  # a silent output would agree with anything
    diff = (on_cuda.cpu() - on_cpu).abs().max().item()
    assert diff <= PARITY_ATOL, f"max |cuda - cpu| = {diff:.2e} > {PARITY_ATOL:g}"


# ---- b. one bf16 autocast training step per model ----------------------------------------
def training_step(model, batch: dict, amp: bool):
    """``EnhanceTask.training_loss`` under the trainer's autocast, then backward, on a copy."""
    model = copy.deepcopy(model)
    loss_fn = WeightedLoss(ENHANCE_LOSS)
    with torch.autocast(DEVICE, torch.bfloat16, enabled=amp):
        loss, terms = loss_fn(model(batch["noisy"]), batch["clean"])
    loss.backward()
    return model, loss, terms


def flat_grad(model) -> torch.Tensor:
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without a gradient: {missing[:5]}"
    return torch.cat([p.grad.flatten().float() for p in model.parameters()])


@pytest.mark.parametrize(("name", "kwargs"), VARIANTS, ids=IDS)
def test_bf16_training_step_matches_float32(name, kwargs, speech):
    noisy, clean = speech
    batch = {"noisy": noisy.to(DEVICE), "clean": clean.to(DEVICE)}
    torch.manual_seed(0)
    model = build_model(name, **kwargs).to(DEVICE).train()
    ref, loss32, terms32 = training_step(model, batch, amp=False)
    amp, loss16, terms16 = training_step(model, batch, amp=True)  # fails here if bf16 breaks it
    loss32, loss16 = loss32.detach(), loss16.detach()

    assert torch.isfinite(loss16) and loss16.dtype == torch.float32
    for k, v in terms32.items():
        assert abs(terms16[k] - v) <= BF16_RTOL * abs(v), f"{k}: bf16 {terms16[k]} vs fp32 {v}"
    scale = sum(w * abs(terms32[k]) for k, w in ENHANCE_LOSS.items())  # total may be near 0
    assert abs(float(loss16) - float(loss32)) <= BF16_RTOL * scale
    g32, g16 = flat_grad(ref), flat_grad(amp)
    assert torch.isfinite(g16).all() and g16.abs().max() > 0
    cosine = torch.nn.functional.cosine_similarity(g32, g16, dim=0).item()
    assert cosine >= BF16_GRAD_COSINE, f"bf16 gradient points elsewhere: cosine {cosine:.4f}"
    optimizer = torch.optim.AdamW(amp.parameters(), lr=1e-3)
    optimizer.step()
    assert all(torch.isfinite(p).all() for p in amp.parameters())


# ---- c, d. the trainer on CUDA ------------------------------------------------------------
class NoDropoutToyTask(ToyTask):
    """Dropout off: compiled code draws its own random numbers (inductor), not eager's."""

    def build_model(self):
        model = super().build_model()
        model.net[1].p = 0.0
        return model


def train(run_dir, task_cls=ToyTask, resume=False, crash_after=None, **overrides):
    """Run the toy task on CUDA like ``test_trainer.train``; returns ``(task, trainer)``."""
    config = ToyConfig()
    for k, v in {"device": DEVICE, **overrides}.items():
        setattr(config.trainer, k, v)
    task = task_cls(config, crash_after)
    trainer = None
    try:
        trainer = Trainer(task, config, run_dir, resume=resume)
        trainer.fit()
    except KeyboardInterrupt:
        pass
    return task, trainer


def tensors_in(obj, path="ckpt"):
    """``(path, tensor)`` for every tensor in a nest of dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from tensors_in(v, f"{path}[{k!r}]")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from tensors_in(v, f"{path}[{i}]")


def curve(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k != "sec_per_step"} for x in lines]


def test_cuda_amp_run_writes_checkpoints_that_load_on_cpu(tmp_path):
    _, trainer = train(tmp_path / "run", amp=True)
    assert next(trainer.model.parameters()).device.type == DEVICE
    records = curve(tmp_path / "run")
    assert records[-1]["val/loss"] < records[0]["train/loss"]  # bf16 training still learns

    for name in ("last.pt", "best.pt"):
        path = tmp_path / "run" / name
        # No map_location: every tensor comes back on the device it was saved from.
        ckpt = torch.load(path, weights_only=True)
        on_gpu = [f"{p} on {t.device}" for p, t in tensors_in(ckpt) if t.device.type != "cpu"]
        # ... and a machine without CUDA must be able to read it at all.
        code = "import sys, torch; torch.load(sys.argv[1], weights_only=True)"
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert not on_gpu, f"{name} holds {len(on_gpu)} GPU tensors, e.g. {on_gpu[:3]}"
        assert done.returncode == 0, f"{name} without CUDA: {done.stderr[-1000:]}"

    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")  # weights rebuild the model on CPU
    model = ToyModel(**ckpt["model_config"])
    model.load_state_dict(ckpt["model"])
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_cuda_resumed_run_matches_uninterrupted_run(tmp_path, restore_determinism):
    # As tests/train/test_trainer.py on CPU, with bf16 autocast and dropout drawn on the GPU.
    # Exact equality is expected: with deterministic algorithms one GPU repeats the same kernels
    # on the same inputs, and the checkpoint restores weights, AdamW state and the CUDA RNG.
    opts = {"amp": True, "deterministic": True}
    train(tmp_path / "full", **opts)
    first, _ = train(tmp_path / "split", crash_after=10, **opts)  # last checkpoint: step 8
    rest, _ = train(tmp_path / "split", resume=True, **opts)
    full = load_checkpoint(tmp_path / "full" / "last.pt")
    split = load_checkpoint(tmp_path / "split" / "last.pt")
    for k in full["model"]:
        diff = (full["model"][k] - split["model"][k]).abs().max().item()
        assert torch.equal(full["model"][k], split["model"][k]), f"{k}: max diff {diff:.2e}"
    assert full["trainer_state"] == split["trainer_state"]
    again, _ = train(tmp_path / "again", **opts)
    assert first.seen[: 8 * 8] + rest.seen == again.seen  # same batches
    assert curve(tmp_path / "split") == curve(tmp_path / "full")


def test_compile_gives_the_eager_loss_curve(tmp_path):
    from torch._dynamo.eval_frame import OptimizedModule
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    train(tmp_path / "eager", NoDropoutToyTask)
    _, trainer = train(tmp_path / "compiled", NoDropoutToyTask, compile=True)
    assert isinstance(trainer.train_model, OptimizedModule)
    assert counters["stats"]["unique_graphs"] >= 1  # dynamo really captured a graph
    eager, compiled = curve(tmp_path / "eager"), curve(tmp_path / "compiled")
    assert [r["step"] for r in compiled] == [r["step"] for r in eager]
    # Fused kernels round differently and 12 AdamW steps carry that forward; a wrong graph
    # would be off by far more than 0.1 %.
    for e, c in zip(eager, compiled, strict=True):
        for key in ("train/loss", "grad_norm", "val/loss"):
            if key in e:
                assert c[key] == pytest.approx(e[key], rel=1e-3, abs=1e-6), (e["step"], key)


# ---- e. streaming with a model on CUDA ----------------------------------------------------
def stream(enhancer: StreamingEnhancer, wav: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Feed ``wav`` in chunks of random sizes, then flush (as tests/enhance/test_stream.py)."""
    out = [enhancer.process(wav[c]) for c in random_chunks(wav.numel(), seed)]
    return torch.cat([o.cpu() for o in [*out, enhancer.flush()]])


@pytest.mark.parametrize("name", STREAMABLE)
def test_init_state_lives_on_the_model_device(name):
    torch.manual_seed(0)
    model = build_model(name).to(DEVICE).eval()
    state = model.init_state(1)
    assert all(s.device.type == DEVICE for s in state), [str(s.device) for s in state]


@pytest.mark.parametrize("name", STREAMABLE)
def test_streaming_with_a_model_on_cuda(name, speech):
    # StreamingEnhancer does not say it is CPU-only, so a CUDA model must either stream (the
    # same samples as on CPU) or be refused up front with a one-line error naming the device.
    wav = speech[0][0]  # (T,) ~2 s of the noisy example
    torch.manual_seed(0)
    model = build_model(name).eval()
    expected = stream(StreamingEnhancer(model), wav)
    try:
        enhancer = StreamingEnhancer(copy.deepcopy(model).to(DEVICE))
    except ConfigError as e:
        assert "cuda" in str(e).lower() or "cpu" in str(e).lower(), str(e)
        return
    out = stream(enhancer, wav)
    assert out.shape == expected.shape
    diff = (out - expected).abs().max().item()
    assert diff <= PARITY_ATOL, f"max |cuda stream - cpu stream| = {diff:.2e}"


def test_enhance_waveform_on_cuda_equals_cpu(speech):
    # `auralab enhance --device cuda`: the shipped model, chunked with cross-fades.
    from auralab.enhance.infer import enhance_waveform
    from auralab.enhance.pretrained import load_model

    wav = speech[0].reshape(-1)  # (T,) ~4 s
    model = load_model("tiny")
    on_cpu = enhance_waveform(copy.deepcopy(model), wav, 16000, chunk_s=1.0, overlap_s=0.25)
    on_cuda = enhance_waveform(model, wav, 16000, chunk_s=1.0, overlap_s=0.25, device=DEVICE)
    assert on_cuda.device.type == "cpu" and on_cuda.shape == wav.shape
    diff = (on_cuda - on_cpu).abs().max().item()
    assert diff <= PARITY_ATOL, f"max |cuda - cpu| = {diff:.2e}"
