"""Enhancement models, looked up by name: ``build_model("tiny")``, ``MODELS.names()``."""

from auralab.enhance.models import tiny  # noqa: F401  (registers)
from auralab.enhance.models.base import MODELS, MaskingEnhancer, build_model

__all__ = ["MODELS", "MaskingEnhancer", "build_model"]
