"""Finding audio files in folders and pairing them by relative path."""

from pathlib import Path

from auralab.errors import DataError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus")


def list_audio(folder: str | Path) -> dict[str, Path]:
    """Audio files under ``folder`` (recursive), keyed by POSIX relative path, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; check the path")
    files = (p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    return {p.relative_to(folder).as_posix(): p for p in sorted(files)}
