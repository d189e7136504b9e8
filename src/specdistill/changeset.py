"""Change sets: the files an edit writes, with the exact pre-images that undo it.

A :class:`FileChange` is one file's bytes before and after an edit; a
:class:`FileSnapshot` is a file's pre-image as found on disk (its bytes and
mode, or its absence). A :class:`ChangeSet` pairs each change with the
pre-image it replaces: it is the one place an edit's pre-images are kept,
from preview to commit. The execute loop journals it, writes it and, on a
failed write or a gate reject, restores it; after the commit the apply context
keeps it for ``rollback``. A :class:`TreeSnapshot` is the same for an edit
whose changes are not known in advance (a plug-in applier doing its own I/O):
every file under the given folders.

This module imports nothing from the project except :mod:`specdistill.fsio`,
the standard-library-only layer under it, so that its atomic write (temp
file, fsync, rename, fsync of the directory) exists once.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from specdistill.fsio import atomic_write_bytes, fsync_dir, write_target


@dataclass(frozen=True)
class FileChange:
    """One file's bytes before and after an edit (``None``: the file is absent)."""

    path: Path
    before: bytes | None
    after: bytes | None

    def unified_diff(self, label: str) -> str:
        """The change as a unified diff, with ``label`` as the file's name."""
        before = (self.before or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        after = (self.after or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before,
            after,
            fromfile=f"a/{label}" if self.before is not None else "/dev/null",
            tofile=f"b/{label}" if self.after is not None else "/dev/null",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class FileSnapshot:
    """A file's pre-image: its exact bytes and mode, or ``data is None`` if absent."""

    path: Path
    data: bytes | None
    mode: int | None = None
    #: Parent directories that did not exist at capture time (deepest first),
    #: removed again on restore so an undone edit leaves no empty folders.
    missing_dirs: tuple[Path, ...] = ()


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


def restore_all(pre_images: Iterable[FileSnapshot]) -> None:
    """Restore pre-images newest-first, so overlapping writes unwind in order."""
    for snapshot in reversed(tuple(pre_images)):
        restore_exact_bytes(snapshot)


def write_change(change: FileChange) -> None:
    """Write one change atomically (or delete the file when ``after`` is None)."""
    if change.after is None:
        change.path.unlink(missing_ok=True)
        return
    change.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(change.path, change.after)


@dataclass(frozen=True)
class ChangeSet:
    """An edit's file changes, each with the pre-image it replaces (same order).

    >>> changes = ChangeSet.capture([FileChange(path, old, new)])  # doctest: +SKIP
    >>> changes.write(); changes.restore()  # doctest: +SKIP
    """

    changes: tuple[FileChange, ...] = ()
    pre_images: tuple[FileSnapshot, ...] = ()

    def __post_init__(self) -> None:
        if len(self.changes) != len(self.pre_images):
            raise ValueError("a change set needs exactly one pre-image per change")

    @classmethod
    def capture(cls, changes: Iterable[FileChange]) -> ChangeSet:
        """Pair each change with its file's pre-image, read from disk now."""
        changes = tuple(changes)
        return cls(changes, tuple(capture(change.path) for change in changes))

    def moved(self) -> list[FileChange]:
        """The changes whose file no longer holds the bytes they were computed from."""
        return [
            change
            for change, snapshot in zip(self.changes, self.pre_images, strict=True)
            if snapshot.data != change.before
        ]

    def without_no_ops(self) -> ChangeSet:
        """The same change set without the changes that would write the same bytes."""
        kept = [
            (change, snapshot)
            for change, snapshot in zip(self.changes, self.pre_images, strict=True)
            if change.before != change.after
        ]
        return ChangeSet(tuple(c for c, _ in kept), tuple(s for _, s in kept))

    def write(self, on_written: Callable[[FileChange], None] | None = None) -> None:
        """Write every change atomically, in order; ``on_written`` after each file.

        Does not undo a failed write: the caller decides, and calls :meth:`restore`.
        """
        for change in self.changes:
            write_change(change)
            if on_written is not None:
                on_written(change)

    def restore(self) -> None:
        """Put every file back to its exact pre-image, newest first."""
        restore_all(self.pre_images)


@dataclass(frozen=True)
class TreeSnapshot:
    """Pre-images of every file under ``roots``: an edit whose changes are unknown.

    :meth:`restore` puts back every captured file, deletes files created since,
    and removes folders created since (when empty).
    """

    roots: tuple[Path, ...]
    pre_images: tuple[FileSnapshot, ...]
    dirs: frozenset[Path]

    @classmethod
    def capture(cls, roots: Iterable[Path]) -> TreeSnapshot:
        """Capture every file (and folder) under ``roots`` (files or folders) now."""
        roots = tuple(roots)
        pre_images = tuple(capture(path) for path in _files(roots))
        return cls(roots, pre_images, frozenset(_dirs(roots)))

    def changed(self) -> list[FileChange]:
        """The files that differ from the capture now (new ones with ``before=None``,
        deleted ones with ``after=None``)."""
        before = {snapshot.path: snapshot.data for snapshot in self.pre_images}
        changes = []
        for path in map(write_target, _files(self.roots)):
            after = path.read_bytes()
            old = before.pop(path, None)
            if old != after:
                changes.append(FileChange(path, old, after))
        gone = (FileChange(path, data, None) for path, data in before.items() if data is not None)
        return [*changes, *gone]

    def restore(self) -> None:
        """Put the tree back as captured: same files with the same bytes, nothing else."""
        known = {snapshot.path for snapshot in self.pre_images}
        for path in map(write_target, _files(self.roots)):
            if path not in known:
                path.unlink(missing_ok=True)
        restore_all(self.pre_images)
        # New folders go too: an empty agents/<name>/ would make <name> a known agent.
        for directory in sorted(_dirs(self.roots) - self.dirs, reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()  # children sort after parents; only empty ones go


def _files(roots: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for top in roots:
        files.extend([top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()))
    return files


def _dirs(roots: tuple[Path, ...]) -> set[Path]:
    tops = [top for top in roots if top.is_dir()]
    return {*tops, *(p for top in tops for p in top.rglob("*") if p.is_dir())}
