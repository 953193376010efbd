"""A small name -> constructor registry, used for models, losses and datasets.

Users extend auralab by registering their own classes under a new name; a checkpoint stores the
name and constructor arguments, and ``Registry.build`` rebuilds the object from them.
"""

import inspect
from collections.abc import Callable

from auralab.errors import ConfigError


class Registry:
    """Named constructors of one kind (e.g. "enhance model")."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable] = {}

    def register(self, name: str) -> Callable:
        """Decorator: ``@MODELS.register("crn")`` above a class or factory function."""

        def add(obj):
            if name in self._items and self._items[name] is not obj:
                raise ConfigError(f"{self.kind} {name!r} is already registered; pick another name")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str) -> Callable:
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}")
        return self._items[name]

    def build(self, name: str, **kwargs):
        """Construct ``name`` with ``kwargs``; a bad argument is reported against the name."""
        cls = self.get(name)
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise ConfigError(f"{self.kind} {name!r}: {e}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


def record_init_args(init: Callable) -> Callable:
    """Wrap a model's ``__init__`` so the instance keeps every constructor argument (defaults
    included, tuples as lists) in ``self._config``: with the registry name, that rebuilds it.

    The outermost constructor records (a subclass calling ``super().__init__`` does not
    overwrite it); ``**kwargs`` are flattened into the same dict.
    """
    signature = inspect.signature(init)

    def wrapped(self, *args, **kwargs):
        if not hasattr(self, "_config"):
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            config = {k: v for k, v in bound.arguments.items() if k not in ("self", "kwargs")}
            config.update(bound.arguments.get("kwargs", {}))
            self._config = {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}
        init(self, *args, **kwargs)

    wrapped.__signature__ = signature
    wrapped.__doc__ = init.__doc__
    return wrapped
