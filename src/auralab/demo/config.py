"""The typed config of ``auralab demo`` (``--config TOML`` and ``--set key=value``)."""

import math
from dataclasses import dataclass, field

from auralab.errors import ConfigError

AUDIO_UPLOAD_TYPES = [".wav", ".flac", ".ogg", ".mp3"]


@dataclass
class DemoConfig:
    """What the demo serves and which uploads it accepts.

    Attributes:
        host: address to listen on; 127.0.0.1 keeps the demo on this machine.
        port: TCP port (0 picks a free one).
        max_upload_mb: largest accepted upload, in MiB.
        max_duration_s: longest accepted audio, in seconds (CPU time grows with it).
        min_duration_s: shortest accepted audio, in seconds.
        enhance_models: enhancement models offered: shipped names, checkpoints or run folders.
        classifier: sound classifier (shipped name, checkpoint or run folder).
        eq_model: semantic-EQ model (shipped name, checkpoint or run folder).
        vad_attenuation_db: how far the VAD option turns non-speech down, in dB.
        threads: PyTorch threads for the models.
    """

    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 20.0
    max_duration_s: float = 60.0
    min_duration_s: float = 0.25
    enhance_models: list[str] = field(default_factory=lambda: ["tiny", "tiny-32ms"])
    classifier: str = "esc10-cnn"
    eq_model: str = "eq-default"
    vad_attenuation_db: float = 20.0
    threads: int = 1

    def __post_init__(self):
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"config key port={self.port} must be in 0..65535 (0: any free)")
        for key in ("max_upload_mb", "max_duration_s", "min_duration_s", "vad_attenuation_db"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"config key {key}={value} must be a positive number")
        if self.min_duration_s >= self.max_duration_s:
            raise ConfigError(
                f"config keys min_duration_s={self.min_duration_s} and max_duration_s="
                f"{self.max_duration_s}: the minimum must be below the maximum"
            )
        if not self.enhance_models:
            raise ConfigError("config key enhance_models is empty; name at least one model")
        if self.threads < 1:
            raise ConfigError(f"config key threads={self.threads} must be >= 1")
