"""Small helpers for messages people read."""


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "file") == "1 file"``, ``count(2, "file") == "2 files"``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
