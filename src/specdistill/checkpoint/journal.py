"""The crash-safety journal: an operation's intent, on disk before any file changes.

Every operation that changes tracked spec files or moves HEAD (an edit, a
rollback, a baseline or "manual changes" checkpoint) runs in this order:

1. write the intent to ``learning/journal/intent.json`` (temp file, fsync, rename,
   fsync of the directory): which operation, the HEAD it starts from, how to
   recognise its commit, and for each file its exact pre-image (bytes and mode,
   or its absence) and the hash of its post-image;
2. write the files;
3. move HEAD to the new commit (one atomic ``git update-ref``), sync the index;
4. delete the intent (not fsynced: a resurrected intent is resolved again).

A process killed anywhere leaves either no intent (nothing started, or all of
it finished) or an intent that :func:`specdistill.checkpoint.recovery.recover`
resolves: if the commit reached HEAD, the operation finished and only its
bookkeeping is redone; otherwise every file gets its pre-image back. The
intent is written with one rename, so it is never seen half-written.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specdistill.changeset import FileSnapshot
from specdistill.errors import CheckpointError
from specdistill.fsio import atomic_write_bytes
from specdistill.home import SpecHome
from specdistill.models import utc_now

JOURNAL_DIR = "journal"
INTENT_FILE = "intent.json"
FORMAT_VERSION = 1

#: ``JournalFile.after`` when the operation deletes the file.
ABSENT = "absent"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class JournalFile:
    """One file an operation changes: its pre-image, and the hash of its post-image.

    ``after`` is the post-image's sha256, :data:`ABSENT` when the operation
    deletes the file, or None when it is not known in advance (a plug-in
    applier that does its own I/O).
    """

    path: str  # relative to the home, forward slashes
    before: bytes | None
    mode: int | None = None
    missing_dirs: tuple[str, ...] = ()
    after: str | None = None

    @classmethod
    def from_snapshot(
        cls, home: SpecHome, snapshot: FileSnapshot, after: bytes | str | None
    ) -> JournalFile:
        """``after``: the post-image bytes, None when deleted, "?" when unknown."""
        digest: str | None = None
        if not isinstance(after, str):
            digest = ABSENT if after is None else sha256(after)
        return cls(
            path=home.relative(snapshot.path),
            before=snapshot.data,
            mode=snapshot.mode,
            missing_dirs=tuple(home.relative(d) for d in snapshot.missing_dirs),
            after=digest,
        )

    def snapshot(self, home: SpecHome) -> FileSnapshot:
        return FileSnapshot(
            path=home.resolve(*self.path.split("/")),
            data=self.before,
            mode=self.mode,
            missing_dirs=tuple(home.resolve(*d.split("/")) for d in self.missing_dirs),
        )

    def is_post_image(self, current: bytes | None) -> bool:
        if self.after is None:
            return False
        if self.after == ABSENT:
            return current is None
        return current is not None and sha256(current) == self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": None if self.before is None else base64.b64encode(self.before).decode(),
            "mode": self.mode,
            "missing_dirs": list(self.missing_dirs),
            "after": self.after,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> JournalFile:
        before = raw["before"]
        return cls(
            path=str(raw["path"]),
            before=None if before is None else base64.b64decode(before, validate=True),
            mode=raw.get("mode"),
            missing_dirs=tuple(raw.get("missing_dirs") or ()),
            after=raw.get("after"),
        )


@dataclass(frozen=True)
class JournalEntry:
    """An operation in flight.

    ``kind`` is "edit", "rollback" or "checkpoint". ``head`` is HEAD when the
    operation started (None on an unborn branch). ``marker`` says how to see
    that the operation's commit landed: ``{"edit_id", "session_id"}`` (a commit
    after ``head`` with those trailers), ``{"checkpoint": kind}`` (a baseline /
    manual-changes commit after ``head``) or ``{"commit": sha}`` (that commit is
    reachable from HEAD). ``whole_spec``: the files are every spec file (a
    plug-in applier), and a spec file not listed was created by the operation.
    ``paths``: files a checkpoint commits as they are (no pre-image to restore),
    whose index entries recovery syncs if the commit landed.
    """

    kind: str
    label: str
    head: str | None
    marker: dict[str, str]
    files: tuple[JournalFile, ...] = ()
    whole_spec: bool = False
    paths: tuple[str, ...] = ()
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=lambda: utc_now().isoformat())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "label": self.label,
            "head": self.head,
            "marker": self.marker,
            "files": [f.to_json() for f in self.files],
            "whole_spec": self.whole_spec,
            "paths": list(self.paths),
            "pid": self.pid,
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> JournalEntry:
        if raw.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown journal format {raw.get('version')!r}")
        return cls(
            kind=str(raw["kind"]),
            label=str(raw["label"]),
            head=raw.get("head"),
            marker={str(k): str(v) for k, v in dict(raw["marker"]).items()},
            files=tuple(JournalFile.from_json(f) for f in raw.get("files", [])),
            whole_spec=bool(raw.get("whole_spec", False)),
            paths=tuple(str(p) for p in raw.get("paths", ())),
            pid=int(raw.get("pid", 0)),
            started_at=str(raw.get("started_at", "")),
        )


class Journal:
    """The intent file of one spec home (at most one operation is in flight)."""

    def __init__(self, home: SpecHome) -> None:
        self.home = home
        self.directory = home.learning_dir / JOURNAL_DIR
        self.path = self.directory / INTENT_FILE

    def write(self, entry: JournalEntry) -> None:
        """Record ``entry`` durably (fsynced file and directory) before acting on it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps(entry.to_json(), separators=(",", ":")).encode()
        atomic_write_bytes(self.path, data, mode=0o600)

    def read(self) -> JournalEntry | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return JournalEntry.from_json(json.loads(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"the journal {self.path} is unreadable ({exc})",
                hint="it records an interrupted edit; compare the spec with "
                "'git status', then delete the file",
            ) from None

    def pending(self) -> bool:
        return self.path.exists()

    def clear(self) -> None:
        """Forget the operation: it finished, or was undone.

        Not fsynced: if a power cut brings the entry back, recovery finds the
        operation's commit (or not) and does the right thing again.
        """
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def stale_temp_files(self) -> list[Path]:
        """Temp files of an interrupted journal write (never a live one: we hold the lock)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f".{INTENT_FILE}.*.tmp"))


def stale_temp_files(path: Path) -> list[Path]:
    """Temp files :func:`specdistill.fsio.atomic_write_bytes` may have left next to ``path``."""
    try:
        return sorted(p for p in Path(path).parent.glob(f".{Path(path).name}.*.tmp") if p.is_file())
    except OSError:
        return []
