"""The shape every sound classifier shares: waveform -> log-mel -> per-band norm -> body -> head.

A model subclasses ``LogMelClassifier`` and implements ``embed``: from normalised log-mel
``(B, 1, n_mels, frames)`` to one vector per clip ``(B, D)``. The frontend, the normalisation and
the linear head live here once, so a new architecture is its body and nothing else. The
constructor arguments (class labels included) are recorded, so a checkpoint holding the registry
name and ``config()`` rebuilds the model on its own.
"""

import abc

import torch
from torch import nn

from auralab.audio.features import LogMel
from auralab.errors import ConfigError
from auralab.registry import Registry, record_init_args

MODELS = Registry("classify model")


class LogMelClassifier(nn.Module, metaclass=abc.ABCMeta):
    """Base class: ``forward(wav (B, T) at sr Hz) -> logits (B, n_classes)``.

    ``forward`` also takes log-mel ``(B, n_mels, frames)`` from ``features``, which is how
    training applies spectrogram augmentation between the two halves.

    Args:
        labels: class names, in label-index order; their number sets the head's width.
        sr: sample rate in Hz the model works at (inputs must be resampled to it).
        n_fft, hop: STFT size and hop in samples at ``sr``.
        n_mels: mel bands.
        f_min, f_max: mel band edges in Hz (``f_max`` default ``sr / 2``).
        dropout: dropout before the linear head.
        window_s: length in seconds of the windows the model was trained on; inference cuts
            longer signals into windows of this length (see ``auralab.classify.infer``).
    """

    def __init__(
        self,
        labels: list[str],
        sr: int = 16000,
        n_fft: int = 1024,
        hop: int = 320,
        n_mels: int = 64,
        f_min: float = 20.0,
        f_max: float | None = None,
        dropout: float = 0.2,
        window_s: float = 2.0,
    ):
        super().__init__()
        if len(labels) < 2:
            raise ConfigError(f"a classifier needs at least 2 labels, got {list(labels)}")
        self.labels = list(labels)
        self.sr = int(sr)
        self.window_s = float(window_s)
        self.frontend = LogMel(sr=sr, n_fft=n_fft, hop=hop, n_mels=n_mels, f_min=f_min, f_max=f_max)
        # Per-band normalisation learned from training batches: bands differ by tens of dB.
        self.norm = nn.BatchNorm1d(n_mels)
        self.dropout = nn.Dropout(dropout)
        self.head: nn.Linear | None = None  # built by the subclass through set_embed_dim

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__init__ = record_init_args(cls.__init__)

    def set_embed_dim(self, dim: int) -> None:
        """Called by a subclass once its body is built: adds the ``(D -> n_classes)`` head."""
        self.head = nn.Linear(dim, len(self.labels))

    @abc.abstractmethod
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, n_mels, frames)`` normalised log-mel -> ``(B, D)`` clip embedding.

        Abstract: a model class without it cannot be instantiated.
        """

    @torch.no_grad()
    def features(self, wav: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` waveform at ``sr`` Hz -> ``(B, n_mels, frames)`` log-mel (no gradient)."""
        if wav.dim() != 2:
            raise ConfigError(
                f"model input has shape {tuple(wav.shape)}; expected (batch, samples)"
            )
        return self.frontend.forward(wav.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` waveform or ``(B, n_mels, frames)`` log-mel -> ``(B, n_classes)`` logits."""
        feats = self.features(x) if x.dim() == 2 else x
        h = self.norm(feats).unsqueeze(1)  # (B, 1, M, N)
        return self.head(self.dropout(self.embed(h)))

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def config(self) -> dict:
        """The constructor arguments as plain types: with the registry name, rebuilds the model."""
        return dict(self._config)


def pool_time_freq(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, F, N)`` feature maps -> ``(B, C)``: mean over frequency, then mean + max over time.

    The max keeps short events (a dog bark in 5 s of street) that a mean alone would dilute.
    """
    x = x.mean(dim=2)  # (B, C, N)
    return x.mean(dim=2) + x.amax(dim=2)


def build_model(name: str, **kwargs) -> LogMelClassifier:
    """Build a registered classifier, e.g. ``build_model("cnn", labels=["dog", "rain"])``."""
    return MODELS.build(name, **kwargs)
