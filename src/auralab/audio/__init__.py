"""Audio I/O, resampling, STFT and features shared by every task."""

from auralab.audio.features import LogMel, require_invertible
from auralab.audio.io import AudioInfo, info, load, save
from auralab.audio.resample import resample
from auralab.audio.stft import Stft

__all__ = ["AudioInfo", "LogMel", "Stft", "info", "load", "require_invertible", "resample", "save"]
