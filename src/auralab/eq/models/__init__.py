"""Semantic-EQ models, looked up by name: ``build_model("semantic_ae", terms=[...])``."""

from auralab.eq.models import beta_vae, semantic_ae  # noqa: F401  (importing registers each model)
from auralab.eq.models.base import MODELS, EqModel, build_model
from auralab.eq.models.losses import EqLoss, supervised_contrastive

__all__ = ["MODELS", "EqLoss", "EqModel", "build_model", "supervised_contrastive"]
