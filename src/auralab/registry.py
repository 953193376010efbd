"""A small name -> constructor registry, used for models, losses and datasets.

Users extend auralab by registering their own classes under a new name; a checkpoint stores the
name and constructor arguments, and ``Registry.build`` rebuilds the object from them.
"""

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
