"""File I/O that cannot leave a file half-written, and exact restoration.

Every write goes to a temp file in the same directory, is fsynced, then renamed
over the target (atomic on POSIX), and the directory is fsynced so the rename
survives a power cut. A :class:`FileSnapshot` is a file's pre-image: its exact
bytes and mode, or the fact that it did not exist.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FileSnapshot:
    """A file's pre-image: its exact bytes and mode, or ``data is None`` if absent."""

    path: Path
    data: bytes | None
    mode: int | None = None
    #: Parent directories that did not exist at capture time (deepest first),
    #: removed again on restore so an undone edit leaves no empty folders.
    missing_dirs: tuple[Path, ...] = ()

    @property
    def existed(self) -> bool:
        return self.data is not None


def capture(path: Path) -> FileSnapshot:
    """Record ``path`` as it is now (through a symlink: the target is what changes)."""
    path = write_target(path)
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        missing = []
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            missing.append(parent)
            parent = parent.parent
        return FileSnapshot(path=path, data=None, missing_dirs=tuple(missing))
    return FileSnapshot(path=path, data=data, mode=mode)


def restore_exact_bytes(snapshot: FileSnapshot) -> None:
    """Put a file back exactly as captured: same bytes and mode, or absent."""
    if snapshot.data is None:
        with contextlib.suppress(FileNotFoundError):
            snapshot.path.unlink()
            fsync_dir(snapshot.path.parent)
        for directory in snapshot.missing_dirs:
            with contextlib.suppress(FileNotFoundError, OSError):
                directory.rmdir()  # only if empty: never removes anything else
        return
    snapshot.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(snapshot.path, snapshot.data, mode=snapshot.mode)
