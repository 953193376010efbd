"""One training loop for every task: checkpoints, resume, schedules, early stopping, DDP."""

from auralab.train.checkpoint import load_checkpoint, save_checkpoint
from auralab.train.trainer import Trainer, TrainerConfig

__all__ = ["Trainer", "TrainerConfig", "load_checkpoint", "save_checkpoint"]
