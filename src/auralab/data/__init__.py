"""Data sets of speech for enhancement: real noisy/clean pairs and on-the-fly mixing."""

from auralab.audio.files import audio_files
from auralab.data.levels import active_level_db, mix_at_snr, power_db
from auralab.data.mixing import MixingDataset, MixPlan, loop_noise
from auralab.data.paired import PairedSpeechDataset, crop_or_pad

__all__ = [
    "MixPlan",
    "MixingDataset",
    "PairedSpeechDataset",
    "active_level_db",
    "audio_files",
    "crop_or_pad",
    "loop_noise",
    "mix_at_snr",
    "power_db",
]
