import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from auralab.audio import load
from auralab.cli import main
from auralab.enhance.infer import chunk_sizes, enhance_file, enhance_waveform
from auralab.enhance.models import MaskingEnhancer
from auralab.errors import AudioError, ConfigError
from auralab.train.checkpoint import save_checkpoint
from tests.conftest import REPO, shared_data

pytestmark = pytest.mark.usefixtures("one_thread")


class Identity(MaskingEnhancer):
    """Returns its input: chunking and cross-fading must then return the input too."""

    def masker(self, spec):  # unused: forward below bypasses the mask
        return torch.zeros(spec.shape[0], 2, *spec.shape[1:])

    def forward(self, noisy):
        return noisy


class ConvMask(MaskingEnhancer):
    """A non-identity mask model with finite context (one 3 x 5 conv over bins x frames)."""

    def __init__(self, n_fft=224, hop=112, sr=16000):
        super().__init__(n_fft=n_fft, hop=hop, sr=sr)
        self.conv = nn.Conv2d(2, 2, (3, 5), padding=(1, 2))

    def masker(self, spec):
        x = torch.stack([spec.real, spec.imag], 1)  # (B, 2, F, N)
        return self.conv(x.abs().add(1e-3).log())


@pytest.fixture(scope="module")
def tiny_ckpt(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    state = {"model_name": "tiny", "model_config": tiny.config(), "model": tiny.state_dict()}
    return save_checkpoint(path, state)


def _speech(seconds: float) -> torch.Tensor:
    """Real 16 kHz noisy speech, VoiceBank test files back to back, cut to ``seconds``."""
    files = sorted(shared_data("pairs", "vbd-test10", "noisy").glob("*.wav"))
    wav = torch.cat([load(p)[0] for p in files])
    return wav[: round(seconds * 16000)]


def _one_go(model, wav, sr):
    return enhance_waveform(model, wav, sr, chunk_s=1e4, overlap_s=0)


def test_identity_model_through_chunks_returns_input():
    model = Identity(sr=16000)  # STFT hop 256: chunks are whole hops
    size, overlap = chunk_sizes(16000, 0.5, 0.125, 256)
    assert (size, overlap) == (7936, 2048)
    torch.manual_seed(1)
    # shorter than, equal to, one sample over, and many (non-dividing) times a chunk
    for length in (1000, size, size + 1, 17 * size + 333):
        wav = torch.randn(2, length)
        out = enhance_waveform(model, wav, 16000, chunk_s=0.5, overlap_s=0.125)
        assert out.shape == wav.shape
        torch.testing.assert_close(out, wav, atol=1e-6, rtol=0)
    mono = torch.randn(50_001)
    out = enhance_waveform(model, mono, 16000, chunk_s=0.3, overlap_s=0.15)  # overlap = chunk / 2
    assert out.shape == mono.shape
    torch.testing.assert_close(out, mono, atol=1e-6, rtol=0)


def test_finite_context_model_chunked_equals_one_go_away_from_edges():
    torch.manual_seed(0)
    model = ConvMask().eval()
    wav = _speech(8.0)
    ref = _one_go(model, wav, 16000)
    assert (ref - wav).abs().max() > 0.05  # it really changes the signal
    out = enhance_waveform(model, wav, 16000, chunk_s=2.0, overlap_s=0.5)
    size, overlap = chunk_sizes(16000, 2.0, 0.5, 112)
    hop = size - overlap
    away = torch.ones(wav.numel(), dtype=torch.bool)
    for start in range(hop, wav.numel(), hop):  # 50 ms around each chunk start and end
        for edge in (start, start - hop + size):
            away[max(0, edge - 800) : edge + 800] = False
    # measured: 1.5e-8 away from edges, 1.8e-4 at worst near them (output peak 0.40)
    assert (out - ref)[away].abs().max() < 1e-6
    assert (out - ref).abs().max() < 1e-3


def test_tiny_model_chunked_matches_one_go(tiny):
    wav = _speech(6.0)
    ref = _one_go(tiny, wav, 16000)
    out = enhance_waveform(tiny, wav, 16000, chunk_s=2.0, overlap_s=1.0)
    size, overlap = chunk_sizes(16000, 2.0, 1.0, 112)
    outside = torch.ones(wav.numel(), dtype=torch.bool)
    for start in range(size - overlap, wav.numel(), size - overlap):
        outside[start : start + overlap] = False
    # measured: 0 outside the cross-fades, 1.1e-4 at worst inside them (output peak 0.36)
    assert (out - ref)[outside].abs().max() < 1e-5
    assert (out - ref).abs().max() < 1e-3


def test_48k_file_streamed_equals_in_memory_and_keeps_rate_and_length(tiny, tmp_path):
    src = shared_data("pairs", "dfn-48k", "noisy", "freesound_33711.flac")
    out = enhance_file(tiny, src, tmp_path / "x.flac", chunk_s=4.0, overlap_s=1.0)
    assert out.resampled and (out.sr, out.model_sr) == (48000, 16000)
    streamed, sr = sf.read(tmp_path / "x.flac", dtype="float32")
    wav, _ = load(src)
    assert sr == 48000 and streamed.shape == (wav.numel(),)
    in_memory = enhance_waveform(tiny, wav, 48000, chunk_s=4.0, overlap_s=1.0)
    # measured 6e-8: 24-bit FLAC rounding (step 1.2e-7); the same stream to float WAV gives 0
    assert np.abs(streamed - in_memory.numpy()).max() < 1e-6
    assert np.abs(in_memory.numpy()).max() > 0.01


def test_24k_file_via_cli(tiny_ckpt, tmp_path, capsys):
    src = shared_data("pairs", "vbd-test10", "noisy_24k", "p232_001.wav")
    code = main(["enhance", str(src), "-o", str(tmp_path), "--model", str(tiny_ckpt), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "model: " in printed and "(tiny)" in printed and "device: cpu" in printed
    assert "24000 Hz were resampled to 16000 Hz" in printed
    out = sf.info(tmp_path / "p232_001.wav")
    assert (out.samplerate, out.frames, out.subtype) == (24000, sf.info(src).frames, "FLOAT")


def test_stereo_channels_are_enhanced_independently(tiny, tmp_path):
    trumpet = shared_data("music", "sorohanro_-_solo-trumpet-06.hq.ogg")
    wav, sr = load(trumpet, mono=False)  # (2, T) at 44.1 kHz
    wav = wav[:, : 3 * sr]
    sf.write(tmp_path / "stereo.wav", wav.T.numpy(), sr, subtype="FLOAT")
    enhance_file(tiny, tmp_path / "stereo.wav", tmp_path / "out.wav", chunk_s=1.0, overlap_s=0.25)
    out, out_sr = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert out_sr == sr and out.shape == (wav.shape[1], 2)
    for c in range(2):
        alone = enhance_waveform(tiny, wav[c], sr, chunk_s=1.0, overlap_s=0.25)
        # channels run as one batch of two; measured 9e-8 against each channel alone
        np.testing.assert_allclose(out[:, c], alone.numpy(), atol=1e-5, rtol=0)
    assert np.abs(out[:, 0] - out[:, 1]).max() > 1e-3  # the two channels really differ


def test_batch_lists_bad_files_and_completes(tiny_ckpt, tmp_path, capsys):
    vbd = shared_data("pairs", "vbd-test10", "noisy")
    inp = tmp_path / "in"
    (inp / "sub").mkdir(parents=True)
    for name, dst in (("p232_001.wav", "a.wav"), ("p232_002.wav", "sub/b.wav")):
        (inp / dst).write_bytes((vbd / name).read_bytes())
    (inp / "corrupt.wav").write_bytes(b"RIFF not really audio")
    bad = np.zeros(1600, dtype=np.float32)
    bad[100] = np.nan
    sf.write(inp / "nan.wav", bad, 16000, subtype="FLOAT")
    sf.write(inp / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    missing = tmp_path / "missing.wav"
    out = tmp_path / "out"
    args = ["enhance", str(inp), str(missing), "-o", str(out), "--model", str(tiny_ckpt)]
    code = main([*args, "--suffix", "_enh", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "2 files enhanced" in printed and "4 failed" in printed
    for name in ("corrupt.wav", "nan.wav", "empty.wav", "missing.wav"):
        assert sum(line.startswith("failed: ") and name in line for line in printed.splitlines())
    for dst, name in (("a_enh.wav", "p232_001.wav"), ("sub/b_enh.wav", "p232_002.wav")):
        assert sf.info(out / dst).frames == sf.info(vbd / name).frames
    assert sorted(p.name for p in out.rglob("*")) == ["a_enh.wav", "b_enh.wav", "sub"]


def test_cli_refuses_to_write_over_inputs(tiny_ckpt, tmp_path, capsys):
    src = tmp_path / "x.wav"
    sf.write(src, np.zeros(1600, dtype=np.float32), 16000)
    model = ["--model", str(tiny_ckpt), "--quiet"]
    assert main(["enhance", str(src), "-o", str(tmp_path), *model]) == 2
    assert "would overwrite its own input" in capsys.readouterr().err
    assert main(["enhance", str(tmp_path), "-o", str(tmp_path / "out"), *model]) == 2
    assert "is inside input folder" in capsys.readouterr().err
    assert main(["enhance", str(src), "-o", str(tmp_path / "o"), "--overlap-s", "9", *model]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(AudioError, match="overwrite its own input"):
        enhance_file(Identity(), src, src)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a CPU-only torch")
def test_cuda_without_cuda_is_one_line(tmp_path, capsys):
    code = main(["enhance", str(tmp_path), "-o", str(tmp_path / "o"), "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "CUDA is not available" in err
    with pytest.raises(ConfigError, match="CUDA is not available"):
        enhance_waveform(Identity(), torch.zeros(100), 16000, device="cuda")


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    import soundfile as sf, torch
    from tests.enhance.test_infer import Identity
    from auralab.enhance.infer import enhance_file

    def peak_growth(step):
        # Reset the kernel's peak-RSS mark, so earlier peaks (imports) cannot hide this one.
        rss = status("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        step()
        return status("VmHWM") - rss

    def status(key):  # bytes
        line = next(l for l in open("/proc/self/status") if l.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    torch.set_num_threads(1)  # small ops on a busy 2-core machine: threads only wait on each other
    big, small, out = sys.argv[1:4]
    enhance_file(Identity(), small, out)  # warm up codecs and allocator
    streamed = peak_growth(lambda: enhance_file(Identity(), big, out))
    loaded = peak_growth(lambda: sf.read(big, dtype="float32"))  # the whole file, as a yardstick
    print(streamed, loaded)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self peak RSS")
def test_memory_does_not_grow_with_file_length(tmp_path):
    sr, minutes = 16000, 20
    big, small = tmp_path / "big.wav", tmp_path / "small.wav"
    rng = np.random.default_rng(0)
    block = (0.1 * rng.standard_normal(60 * sr)).astype(np.float32)  # one minute
    with sf.SoundFile(big, "w", sr, 1, "PCM_16") as f:
        for i in range(minutes):
            f.write(np.roll(block, i))
    sf.write(small, block[:sr], sr, subtype="PCM_16")
    run = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(big), str(small), str(tmp_path / "out.wav")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    streamed, loaded = map(int, run.stdout.split())
    decoded = minutes * 60 * sr * 4  # bytes of float32
    # measured: streaming peak +5.6 MB, reading the whole file +77 MB (77 MB decoded)
    assert streamed < decoded / 8
    assert loaded > decoded / 2  # the yardstick sees a whole-file load, so the bound means it
    with sf.SoundFile(tmp_path / "out.wav") as f:
        assert (f.frames, f.subtype) == (minutes * 60 * sr, "FLOAT")
        f.seek(f.frames - 60 * sr)  # the last minute came through the identity model intact
        last = f.read(dtype="float32")
    expected = sf.read(big, dtype="float32", start=(minutes - 1) * 60 * sr)[0]
    np.testing.assert_allclose(last, expected, atol=1e-6, rtol=0)
