"""The typed config of a speech-enhancement run (one recipe TOML = one ``EnhanceConfig``)."""

from dataclasses import dataclass, field
from typing import Literal

from auralab.train.trainer import TrainerConfig


@dataclass
class EnhanceDataConfig:
    """Where training and validation audio comes from.

    ``source = "mix"``: clean speech folders mixed on the fly with noise folders.
    ``source = "pairs"``: ready-made noisy/clean folders (e.g. VoiceBank-DEMAND).
    Validation is ``val_source`` in the same way, with its own folders (other speakers).
    """

    source: Literal["mix", "pairs"] = "mix"
    clean_dirs: list[str] = field(default_factory=list)
    noise_dirs: list[str] = field(default_factory=list)
    noisy_dir: str = ""
    clean_dir: str = ""
    val_source: Literal["mix", "pairs"] = "mix"
    val_clean_dirs: list[str] = field(default_factory=list)
    val_noise_dirs: list[str] = field(default_factory=list)
    val_noisy_dir: str = ""
    val_clean_dir: str = ""
    val_items: int = 48  # fixed validation subset scored with PESQ/STOI/SI-SDR on waveforms
    segment_s: float = 3.0
    val_segment_s: float = 4.0
    snr_db: tuple[float, float] = (-5.0, 20.0)
    gain_db: tuple[float, float] = (-12.0, 3.0)
    sr: int = 16000


@dataclass
class EnhanceModelConfig:
    name: str = "tiny"
    args: dict = field(default_factory=dict)


@dataclass
class EnhanceConfig:
    """A speech-enhancement run: ``task``, ``name``, then data, model, loss and trainer."""

    task: Literal["enhance"] = "enhance"
    name: str = "enhance"
    data: EnhanceDataConfig = field(default_factory=EnhanceDataConfig)
    model: EnhanceModelConfig = field(default_factory=EnhanceModelConfig)
    loss: dict = field(default_factory=lambda: {"compressed_spectral": 1.0, "si_sdr": 0.01})
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(early_stop_metric="pesq_wb", early_stop_mode="max")
    )
