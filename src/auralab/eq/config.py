"""The typed config of a semantic-EQ run (one recipe TOML = one ``EqConfig``)."""

from dataclasses import dataclass, field
from typing import Literal

from auralab.errors import ConfigError
from auralab.train.trainer import TrainerConfig


@dataclass
class EqDataConfig:
    """Which SAFE rows are used and how they are split.

    The split is decided per group (row hash) by a hash of ``split_seed`` and the group, so the
    same settings always land in the same split; evaluation rebuilds it from these keys.
    """

    csv: str = "../shared/data/safe-db/SAFEEqualiserUserData.csv"
    min_count: int = 5  # terms with fewer rows (after merge) are dropped
    merge: dict = field(default_factory=lambda: {"brighter": "bright", "warmer": "warm"})
    drop: list[str] = field(default_factory=lambda: ["test", "default"])
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self):
        for key in ("val_fraction", "test_fraction"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"config key data.{key}={getattr(self, key)} must be in [0, 1)")
        if self.val_fraction + self.test_fraction >= 1:
            raise ConfigError(
                "config keys data.val_fraction + data.test_fraction must leave rows to train on"
            )
        if self.min_count < 1:
            raise ConfigError(f"config key data.min_count={self.min_count} must be >= 1")


@dataclass
class EqModelConfig:
    name: str = "semantic_ae"  # "semantic_ae" (auralab) or "beta_vae" (FlowEQ-style baseline)
    args: dict = field(default_factory=dict)


@dataclass
class EqLossConfig:
    """Weights of the loss terms (0 switches a term off).

    Attributes:
        params: L1 between normalised settings (each parameter in [0, 1]).
        response: L1 between magnitude responses, in dB / 12 so it weighs like ``params``.
        term_response: L1 (dB / 12) between the response decoded at each term's latent centre
            in the batch and the responses of that term's settings: trains the setting that
            ``generate`` produces, not only reconstructions.
        kl: beta of the beta-VAE (KL to the unit Gaussian per latent dimension).
        contrastive: final weight of the supervised contrastive loss on the latent, reached by a
            linear ramp from ``contrastive_start`` to ``contrastive_end`` steps (0 before).
        temperature: of the contrastive loss.
        grid_points: log-spaced frequencies (20 Hz-20 kHz) of the response losses.
    """

    params: float = 1.0
    response: float = 0.0
    term_response: float = 0.0
    kl: float = 0.0
    contrastive: float = 0.0
    contrastive_start: int = 0
    contrastive_end: int = 1
    temperature: float = 0.1
    grid_points: int = 64

    def __post_init__(self):
        if self.contrastive_end <= self.contrastive_start:
            raise ConfigError(
                "config key loss.contrastive_end must be greater than loss.contrastive_start"
            )
        if self.temperature <= 0:
            raise ConfigError(f"config key loss.temperature={self.temperature} must be > 0")


@dataclass
class EqConfig:
    """A semantic-EQ run: ``task``, ``name``, then data, model, loss and trainer."""

    task: Literal["eq"] = "eq"
    name: str = "eq"
    data: EqDataConfig = field(default_factory=EqDataConfig)
    model: EqModelConfig = field(default_factory=EqModelConfig)
    loss: EqLossConfig = field(default_factory=EqLossConfig)
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            max_steps=3000,
            batch_size=64,
            lr=2e-3,
            warmup_steps=100,
            val_every=250,
            log_every=50,
            early_stop_metric="loss",
            threads=1,
            tensorboard=False,
        )
    )
