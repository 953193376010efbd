"""auralab: lightweight audio deep learning that cannot lie to its user."""

__version__ = "0.1.0"
