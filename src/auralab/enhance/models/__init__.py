"""Enhancement models, looked up by name: ``build_model("tiny")``, ``MODELS.names()``."""

from auralab.enhance.models import (  # noqa: F401  (importing registers each model)
    bsrnn,
    cnn_transformer,
    crn,
    dpt,
    tiny,
)
from auralab.enhance.models.base import MODELS, MaskingEnhancer, build_model

__all__ = ["MODELS", "MaskingEnhancer", "build_model"]
