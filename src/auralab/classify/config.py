"""The typed config of a sound-classification run (one recipe TOML = one ``ClassifyConfig``)."""

from dataclasses import dataclass, field
from typing import Literal

from auralab.classify.augment import AugmentConfig
from auralab.errors import ConfigError
from auralab.train.trainer import TrainerConfig


@dataclass
class ClassifyDataConfig:
    """Which clips, at which rate, split how.

    ``root`` is a dataset folder in the ESC-50 layout, a CSV of ``path,label[,group][,fold]``
    (or a folder holding one), or a folder with one sub-folder per class. Official folds are used
    when the dataset has a ``fold`` column; otherwise clips are assigned to ``n_folds`` folds
    grouped by source recording and stratified by class (``split_seed``).
    """

    root: str = ""
    sr: int = 16000  # every clip is resampled to this rate, explicitly, once per run
    clip_s: float = 5.0  # clips are cut or zero-padded to this length
    crop_s: float = 2.0  # training crop; validation and inference see whole clips
    val_fold: int = 1  # held-out fold for `auralab train`; 0 trains on every clip
    n_folds: int = 5  # folds made when the dataset has none
    split_seed: int = 0

    def __post_init__(self):
        if self.sr < 1000:
            raise ConfigError(f"config key data.sr={self.sr} is not a usable sample rate in Hz")
        if not 0 < self.crop_s <= self.clip_s:
            raise ConfigError(
                f"config key data.crop_s={self.crop_s} must be in (0, data.clip_s={self.clip_s}]"
            )


@dataclass
class FeatureConfig:
    """Log-mel frontend (part of the model, so a checkpoint carries it)."""

    n_fft: int = 1024
    hop: int = 320
    n_mels: int = 64
    f_min: float = 20.0
    f_max: float | None = None


@dataclass
class ClassifyModelConfig:
    """Model by registry name with its arguments, and optional weights to start from.

    ``init`` is a weights file the user supplies (a state dict, or a checkpoint holding one):
    matching tensors are loaded, the rest listed; ``init_rename`` maps key prefixes first.
    """

    name: str = "cnn"
    args: dict = field(default_factory=dict)
    dropout: float = 0.2
    init: str = ""
    init_rename: dict = field(default_factory=dict)
    init_strict: bool = False


@dataclass
class ClassifyConfig:
    """A sound-classification run: ``task``, ``name``, then data, features, model, augment,
    loss and trainer."""

    task: Literal["classify"] = "classify"
    name: str = "classify"
    data: ClassifyDataConfig = field(default_factory=ClassifyDataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ClassifyModelConfig = field(default_factory=ClassifyModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    label_smoothing: float = 0.0
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            early_stop_metric="accuracy", early_stop_mode="max", warmup_steps=100
        )
    )
