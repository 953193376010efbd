"""Sound classifiers, looked up by name: ``build_model("cnn", labels=[...])``, ``MODELS.names()``.

Register your own with ``@MODELS.register("name")`` on a ``LogMelClassifier`` subclass.
"""

from auralab.classify.models import cnn, mobilenet, resnet  # noqa: F401  (registers)
from auralab.classify.models.base import MODELS, LogMelClassifier, build_model
from auralab.classify.models.transfer import InitReport, load_init, read_state_dict

__all__ = [
    "MODELS",
    "InitReport",
    "LogMelClassifier",
    "build_model",
    "load_init",
    "read_state_dict",
]
