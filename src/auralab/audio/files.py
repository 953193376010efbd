"""Finding audio files in folders and pairing them by relative path.

One rule for every command: a noisy and a clean file are a pair when their paths relative to
their folders are equal (``noisy/sub/x.wav`` <-> ``clean/sub/x.wav``). Hidden files (``._x.wav``
resource forks from macOS) are skipped: they are not audio even when their extension says so.
"""

import os
from pathlib import Path

from auralab.errors import DataError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus")


def audio_files(
    folder: str | os.PathLike, role: str = "audio", fix: str = "check the path"
) -> list[Path]:
    """All audio files under ``folder``, recursively, sorted.

    Args:
        folder: the folder to search.
        role: what the folder holds ("noisy", "clean", "noise"), used in error messages.
        fix: the fix the error message suggests.

    Raises:
        DataError: the folder is missing, not a folder, or holds no audio file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: {role} folder not found; {fix}")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".") and p.is_file()
    )
    if not files:
        exts = "/".join(e[1:] for e in AUDIO_EXTENSIONS)
        raise DataError(f"{root}: {role} folder holds no audio files ({exts}); {fix}")
    return files


def relative_audio(folder: str | os.PathLike, role: str = "audio") -> dict[str, Path]:
    """Audio files under ``folder`` keyed by POSIX path relative to it, sorted."""
    root = Path(folder)
    return {p.relative_to(root).as_posix(): p for p in audio_files(root, role)}
