"""File I/O that cannot leave a file half-written.

Every write goes to a temp file in the same directory, is fsynced, then renamed
over the target (atomic on POSIX), and the directory is fsynced so the rename
survives a power cut. Pre-images and their exact restoration live one layer up,
in :mod:`specdistill.changeset`. Standard library only: everything may import this.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_target(path: Path) -> Path:
    """Where writing ``path`` must land: through a symlink to its target, so the link
    itself survives (callers have already checked the target stays in the home)."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (temp file, fsync, rename, fsync dir).

    A symlink is written through, never replaced by a regular file.
    """
    path = write_target(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def read_bytes_or_none(path: Path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None
