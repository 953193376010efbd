"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader (or a resumed run after a crash) sees the old file or the new one, never half of one.
"""

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish(tmp: str | Path, path: Path) -> None:
    """Rename a finished temporary file into place with ordinary permissions.

    ``mkstemp`` creates files readable by their owner only (0600); a result file should get
    the mode any new file would (0666 minus the umask).
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())
