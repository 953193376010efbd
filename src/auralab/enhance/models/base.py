"""The shape every enhancement model shares: STFT encoder -> masker -> mask + ISTFT decoder.

A model subclasses ``MaskingEnhancer`` and implements ``masker``: from the complex spectrogram
to raw mask logits. Encoding, mask bounding and the exact inverse live here once, so a new model
is its masker and nothing else (asteroid's encoder/masker/decoder split).
"""

import abc

import torch
from torch import nn

from auralab.audio.stft import Stft
from auralab.enhance.models.blocks import complex_ratio_mask, magnitude_mask
from auralab.errors import ConfigError
from auralab.registry import Registry, record_init_args

MODELS = Registry("enhance model")
MASKS = ("crm", "mag")


class MaskingEnhancer(nn.Module, metaclass=abc.ABCMeta):
    """Base class: ``forward(noisy (B, T)) -> enhanced (B, T)`` at ``sr`` Hz.

    Args:
        n_fft, hop, win_length, window: the STFT (see ``auralab.audio.Stft``).
        mask: ``"crm"`` (bounded complex ratio mask, |m| < 1, can correct phase) or ``"mag"``
            (magnitude mask in [0, 1], keeps the noisy phase).
        sr: sample rate in Hz the model works at.
    """

    causal: bool = False  # True when output never depends on input later than one window
    # Attenuation limit in dB (None: unlimited). Mixes 10^(-lim/20) of the noisy input back in,
    # as DeepFilterNet's atten_lim does: a little residual noise costs less intelligibility than
    # speech removed with it. An inference setting, stored beside the weights, not trained.
    atten_lim_db: float | None = None

    def __init__(
        self, n_fft=512, hop=256, win_length=None, window="sqrt_hann", mask="crm", sr=16000
    ):
        super().__init__()
        if mask not in MASKS:
            raise ConfigError(f"model.mask={mask!r}; use one of {', '.join(MASKS)}")
        self.stft = Stft(n_fft=n_fft, hop=hop, win_length=win_length, window=window)
        self.mask_kind = mask
        self.sr = sr

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__init__ = record_init_args(cls.__init__)

    @abc.abstractmethod
    def masker(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, F, N)`` complex spectrogram -> ``(B, 2, F, N)`` raw mask (real, imag).

        Abstract: a model class without it cannot be instantiated.
        """

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        if noisy.dim() != 2:
            raise ConfigError(
                f"model input has shape {tuple(noisy.shape)}; expected (batch, samples)"
            )
        spec = self.stft.forward(noisy)  # (B, F, N) complex
        raw = self.masker(spec)  # (B, 2, F, N)
        return self.stft.inverse(self.apply_mask(spec, raw), noisy.shape[-1])

    def apply_mask(self, spec: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """Bound the raw mask ``(B, 2, F, N)``, apply the attenuation limit, mask ``spec``."""
        raw = raw.float()  # under bf16 autocast the logits are bf16; complex needs float32
        mask = complex_ratio_mask(raw) if self.mask_kind == "crm" else magnitude_mask(raw)
        if self.atten_lim_db is not None:
            floor = 10.0 ** (-self.atten_lim_db / 20.0)
            mask = floor + (1.0 - floor) * mask
        return spec * mask

    def init_state(self, batch: int) -> list[torch.Tensor]:
        """Zero streaming state for ``batch`` streams (causal models only)."""
        raise ConfigError(f"{type(self).__name__} has no streaming step; it is not causal")

    def masker_step(
        self, spec: torch.Tensor, state: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``N >= 1`` consecutive frames: ``(B, F, N)`` complex -> ``(B, 2, F, N)`` raw mask
        and the state after the last frame.

        Fed block by block (any block sizes) from ``init_state``, it must reproduce ``masker``
        on the whole spectrogram exactly; ``tests/enhance/test_stream.py`` checks that for
        every causal model.
        """
        raise ConfigError(f"{type(self).__name__} has no streaming step; it is not causal")

    @property
    def latency_s(self) -> float:
        """Algorithmic latency in seconds: one analysis window (plus any look-ahead frames)."""
        return (self.stft.win_length or self.stft.n_fft) / self.sr

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def config(self) -> dict:
        """The constructor arguments, as plain types: with the registry name, rebuilds the model."""
        return dict(self._config)


def build_model(name: str, **kwargs) -> MaskingEnhancer:
    """Build a registered model by name, e.g. ``build_model("tiny", mask="crm")``."""
    return MODELS.build(name, **kwargs)
