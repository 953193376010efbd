"""Training losses for waveform-output enhancement models, each ``(preds, target) -> scalar``
on ``(B, T)`` waveforms, looked up by name and combined with weights from the config."""

import torch

from auralab.audio.stft import Stft
from auralab.errors import ConfigError
from auralab.registry import Registry

LOSSES = Registry("enhance loss")
EPS = 1e-8


@LOSSES.register("si_sdr")
class NegativeSiSdr(torch.nn.Module):
    """Negative scale-invariant SDR in dB, averaged over the batch (zero-mean signals)."""

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        preds = preds - preds.mean(-1, keepdim=True)
        target = target - target.mean(-1, keepdim=True)
        scale = (preds * target).sum(-1, keepdim=True) / (
            target.square().sum(-1, keepdim=True) + EPS
        )
        proj = scale * target
        ratio = proj.square().sum(-1) / ((preds - proj).square().sum(-1) + EPS)
        return -10 * torch.log10(ratio + EPS).mean()


@LOSSES.register("multi_resolution_stft")
class MultiResolutionStftLoss(torch.nn.Module):
    """Spectral convergence + log-magnitude L1 at several STFT resolutions (Yamamoto et al.)."""

    def __init__(self, resolutions=((512, 128), (1024, 256), (256, 64))):
        super().__init__()
        self.stfts = [Stft(n_fft=n, hop=h, window="hann") for n, h in resolutions]

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = preds.new_zeros(())
        for stft in self.stfts:
            p = stft.forward(preds).abs() + EPS
            t = stft.forward(target).abs() + EPS
            convergence = torch.linalg.norm(t - p) / (torch.linalg.norm(t) + EPS)
            total = total + convergence + (p.log() - t.log()).abs().mean()
        return total / len(self.stfts)


@LOSSES.register("compressed_spectral")
class CompressedSpectralLoss(torch.nn.Module):
    """Power-law compressed complex + magnitude MSE (Braun & Tashev 2021), ``c = 0.3``.

    Compression matches loss weight to perceived loudness, so quiet high bands still count.
    """

    def __init__(self, n_fft=512, hop=128, power=0.3, complex_weight=0.3):
        super().__init__()
        self.stft = Stft(n_fft=n_fft, hop=hop, window="hann")
        self.power = power
        self.complex_weight = complex_weight

    def _compress(self, wav):
        spec = self.stft.forward(wav)
        mag = spec.abs().clamp_min(EPS)
        return spec * (mag.pow(self.power) / mag), mag.pow(self.power)

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pc, pm = self._compress(preds)
        tc, tm = self._compress(target)
        complex_err = (pc - tc).abs().square().mean()
        mag_err = (pm - tm).square().mean()
        return self.complex_weight * complex_err + (1 - self.complex_weight) * mag_err


class WeightedLoss(torch.nn.Module):
    """Sum of named losses with weights, e.g. ``{"compressed_spectral": 1.0, "si_sdr": 0.01}``.

    ``forward`` returns the total and each term (detached), so the terms can be logged.
    """

    def __init__(self, weights: dict[str, float]):
        super().__init__()
        if not weights:
            raise ConfigError("loss: give at least one loss with a weight, e.g. {si_sdr = 1.0}")
        self.weights = {k: float(v) for k, v in weights.items()}
        self.terms = torch.nn.ModuleDict({k: LOSSES.build(k) for k in weights})

    def forward(self, preds, target) -> tuple[torch.Tensor, dict[str, float]]:
        values = {k: term(preds, target) for k, term in self.terms.items()}
        total = sum(self.weights[k] * v for k, v in values.items())
        return total, {k: float(v.detach()) for k, v in values.items()}
