import pytest
import torch

from auralab.audio import LogMel, Stft, load, require_invertible
from auralab.errors import ConfigError, NonInvertibleFeatureError

CONFIGS = [
    Stft(),
    Stft(n_fft=400, hop=100),
    Stft(n_fft=512, hop=128, window="sqrt_hann"),
    Stft(n_fft=320, hop=160, window="hamming", center=False),
    Stft(n_fft=512, hop=256, win_length=400),
    Stft(n_fft=256, hop=64, window="rect", center=False),
]


@pytest.fixture(scope="module")
def speech():
    from tests.conftest import shared_data

    wav, _ = load(shared_data("pairs", "vbd-test10", "clean", "p232_003.wav"))
    return wav


@pytest.mark.parametrize("stft", CONFIGS, ids=lambda s: f"{s.n_fft}-{s.hop}-{s.window}-{s.center}")
@pytest.mark.parametrize("trim", [0, 37, 255])  # lengths that are not a multiple of hop
def test_round_trip_real_speech(stft, trim, speech):
    x = speech[: speech.numel() - trim]
    spec = stft.forward(x)
    assert spec.is_complex() and spec.shape == (stft.n_freqs, stft.frames(x.numel()))
    assert (stft.inverse(spec, x.numel()) - x).abs().max() < 1e-5
    xd = x.double()
    assert (stft.inverse(stft.forward(xd), xd.numel()) - xd).abs().max() < 1e-10


def test_batched_shapes_and_short_input():
    stft = Stft(n_fft=512, hop=128)
    x = torch.randn(2, 3, 1000)
    spec = stft.forward(x)
    assert spec.shape == (2, 3, 257, stft.frames(1000))
    assert torch.allclose(stft.inverse(spec, 1000), x, atol=1e-5)
    tiny = torch.randn(5)
    assert torch.allclose(stft.inverse(stft.forward(tiny), 5), tiny, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_fft=512, hop=512), r"violates NOLA .* use hop <= 256"),
        (dict(n_fft=512, hop=256, win_length=256), r"violates NOLA .* use hop <= 128"),
        (dict(n_fft=512, hop=256, center=False), r"center=False with window='hann'"),
        (dict(n_fft=512, hop=600), r"hop=600 is longer than the window"),
        (dict(window="kaiser"), r"stft.window='kaiser' is unknown"),
        (dict(n_fft=256, win_length=300), r"win_length=300 must be between 1 and n_fft=256"),
    ],
)
def test_bad_configs_fail_at_construction(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Stft(**kwargs)


def test_inverse_refuses_foreign_spectrogram():
    spec = Stft(n_fft=256, hop=64).forward(torch.randn(1000))
    with pytest.raises(ConfigError, match=r"129 bins, this Stft makes 257"):
        Stft().inverse(spec, 1000)


def test_logmel_is_marked_non_invertible(speech):
    mel = LogMel(sr=16000, n_mels=40)
    feats = mel.forward(speech)
    assert feats.shape[0] == 40 and torch.isfinite(feats).all()
    with pytest.raises(NonInvertibleFeatureError, match=r"cannot be turned back into a waveform"):
        mel.inverse(feats, speech.numel())
    with pytest.raises(NonInvertibleFeatureError, match=r"denoiser uses LogMel features"):
        require_invertible(mel, "denoiser")
    require_invertible(Stft())  # exact inverse: allowed


def test_logmel_puts_a_tone_in_the_right_band():
    sr = 16000
    t = torch.arange(sr) / sr
    mel = LogMel(sr=sr, n_mels=64)
    low = mel.forward(torch.sin(2 * torch.pi * 300 * t)).mean(-1).argmax()
    high = mel.forward(torch.sin(2 * torch.pi * 5000 * t)).mean(-1).argmax()
    assert low < high
