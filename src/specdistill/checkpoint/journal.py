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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specdistill.changeset import FileSnapshot
from specdistill.errors import CheckpointError
from specdistill.fsio import atomic_write_bytes
from specdistill.home import LEARNING_DIR, SPEC_PATHS, SpecHome
from specdistill.models import utc_now

JOURNAL_DIR = "journal"
INTENT_FILE = "intent.json"
FORMAT_VERSION = 1
_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

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
        """Parse one journaled file; ValueError unless every path is a spec file's.

        Recovery writes these bytes back, so an entry naming ``benchmark.jsonl``,
        ``learning/...`` or ``../x`` (a hand-edited or foreign journal) is refused
        rather than obeyed.
        """
        before, mode, after = raw["before"], raw.get("mode"), raw.get("after")
        if before is not None and not isinstance(before, str):
            raise ValueError("a file's 'before' is not base64 text")
        if mode is not None and (not isinstance(mode, int) or isinstance(mode, bool)):
            raise ValueError(f"a file's mode {mode!r} is not an integer")
        if after is not None and not isinstance(after, str):
            raise ValueError(f"a file's 'after' {after!r} is not a hash")
        missing = raw.get("missing_dirs") or []
        if not isinstance(missing, list):
            raise ValueError("'missing_dirs' is not a list")
        return cls(
            path=spec_path(raw["path"]),
            before=None if before is None else base64.b64decode(before, validate=True),
            mode=mode,
            missing_dirs=tuple(spec_path(d) for d in missing),
            after=after,
        )


def spec_path(value: object) -> str:
    """``value`` if it is a relative path inside the spec's own files (``config.toml``,
    ``agents/...``, ``tools/...``) with plain components; else ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"path {value!r} is not a string")
    parts = value.split("/")
    if parts[0] not in SPEC_PATHS or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path {value!r} is not a spec file")
    if any(ord(c) < 32 or c in "\\\x7f" for c in value):
        raise ValueError(f"path {value!r} is not a plain path")
    return value


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
        if not isinstance(raw, dict):
            raise ValueError(f"a journal entry is an object, not {type(raw).__name__}")
        if raw.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown journal format {raw.get('version')!r}")
        if raw.get("kind") not in ("edit", "rollback", "checkpoint"):
            raise ValueError(f"unknown operation kind {raw.get('kind')!r}")
        if not isinstance(raw.get("files", []), list) or not isinstance(raw.get("paths", []), list):
            raise ValueError("'files' and 'paths' must be lists")
        head = raw.get("head")
        if head is not None and not (isinstance(head, str) and _HEX.fullmatch(head)):
            raise ValueError(f"'head' {head!r} is not a commit id")
        marker = raw.get("marker")
        if not isinstance(marker, dict) or not all(isinstance(v, str) for v in marker.values()):
            raise ValueError("'marker' is not an object of strings")
        if "commit" in marker and not _HEX.fullmatch(marker["commit"]):
            raise ValueError(f"marker commit {marker['commit']!r} is not a commit id")
        return cls(
            kind=str(raw["kind"]),
            label=str(raw["label"]),
            head=raw.get("head"),
            marker={str(k): str(v) for k, v in dict(raw["marker"]).items()},
            files=tuple(JournalFile.from_json(f) for f in raw.get("files", [])),
            whole_spec=bool(raw.get("whole_spec", False)),
            paths=tuple(spec_path(p) for p in raw.get("paths", ())),
            pid=int(raw.get("pid", 0)),
            started_at=str(raw.get("started_at", "")),
        )


class Journal:
    """The intent file of one spec home (at most one operation is in flight)."""

    def __init__(self, home: SpecHome) -> None:
        self.home = home
        self.directory = home.resolve(LEARNING_DIR, JOURNAL_DIR)  # never a link out of the home
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
        except OSError as exc:  # a directory, unreadable, ...
            raise CheckpointError(
                f"the journal {self.path} cannot be read ({exc.strerror or exc})",
                hint="it records an interrupted edit; compare the spec with "
                "'git status', then delete the file",
            ) from None
        try:
            return JournalEntry.from_json(json.loads(data))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
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
