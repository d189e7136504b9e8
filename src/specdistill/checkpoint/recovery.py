"""Recovery of an operation interrupted at any point (SIGKILL included).

:func:`recover` runs at the start of every command that writes to a home, under
the home's lock. With no journal entry there is nothing to do. Otherwise:

* if the operation's commit reached HEAD, it finished: the index entries of its
  files are set to HEAD (the kill may have come before that step) and the entry
  is cleared;
* otherwise every journaled file gets its exact pre-image back (bytes and mode,
  or its absence), temp files of an interrupted atomic write are removed, the
  index entries are set to HEAD, and the entry is cleared. A file that is in
  neither its pre- nor its post-image state was changed by someone after the
  crash: its content is saved under ``learning/recovered/`` before the restore.

Afterwards every journaled file equals its pre-edit or its committed post-edit
state and ``git status`` of the spec is clean. A lock file that git left behind
(``index.lock``, ``HEAD.lock``, the branch's ``.lock``) because the interrupted
run's git was killed is removed only when it is ours to remove: a journal entry
proves our run was interrupted while changing the repository, we hold the home
lock (so no other specdistill run is active), and no git process is running in
the repository (read from /proc; elsewhere we refuse and say what to check).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from specdistill.changeset import restore_exact_bytes
from specdistill.checkpoint.git import live_git_processes, wait_for_exit
from specdistill.checkpoint.journal import JournalEntry, JournalFile, stale_temp_files
from specdistill.checkpoint.store import CheckpointStore
from specdistill.errors import CheckpointError
from specdistill.fsio import atomic_write_bytes, read_bytes_or_none
from specdistill.home import LEARNING_DIR, SPEC_PATHS, SpecHome
from specdistill.models import utc_now

RECOVERED_DIR = "recovered"


def recover(
    home: SpecHome | str | os.PathLike[str], store: CheckpointStore | None = None
) -> list[str]:
    """Finish or undo an interrupted operation; return one message per thing done.

    Call it with the home's lock held (``checkpointed_run`` does).
    """
    store = store or CheckpointStore(home)
    entry = store.journal.read()
    for temp in store.journal.stale_temp_files():
        temp.unlink(missing_ok=True)
    if entry is None:
        return []
    messages = []
    has_repo = store.find_repo()
    if has_repo:
        messages.extend(remove_stale_git_locks(store))
    landed = store.commit_landed(entry) if has_repo else None
    journaled = [f.path for f in entry.files]
    if landed is not None:
        for file in entry.files:
            _remove_temp_files(store.home, file)
        store.sync_index(journaled + list(entry.paths))
        messages.append(
            f"recovered: {_describe(entry)} had reached its commit {landed[:10]}; finished it"
        )
    else:
        restored, saved = restore_pre_images(store.home, entry)
        if has_repo and store.head() is not None:
            store.sync_index(sorted({*journaled, *restored}))
        if entry.kind != "checkpoint":
            shown = ", ".join(restored) if restored else "no file had changed yet"
            messages.append(f"recovered: {_describe(entry)} was interrupted; restored {shown}")
        for path, copy in saved:
            messages.append(f"recovered: kept a copy of {path} (not ours to discard) at {copy}")
    store.journal.clear()
    return messages


def _describe(entry: JournalEntry) -> str:
    if entry.kind == "edit":
        return f"edit {entry.label!r} (session {entry.marker.get('session_id', '?')})"
    if entry.kind == "rollback":
        return f"rollback {entry.label!r}"
    return f"the {entry.label} checkpoint"


def _remove_temp_files(home: SpecHome, file: JournalFile) -> None:
    with contextlib.suppress(CheckpointError, ValueError, OSError):
        for temp in stale_temp_files(home.resolve(*file.path.split("/"))):
            temp.unlink(missing_ok=True)


def restore_pre_images(
    home: SpecHome, entry: JournalEntry
) -> tuple[list[str], list[tuple[str, Path]]]:
    """Put every journaled file back to its pre-image, newest first.

    Returns the files that were changed back, and ``(file, copy)`` for each file
    whose unexpected content was saved first.
    """
    restored: list[str] = []
    saved: list[tuple[str, Path]] = []
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    for file in reversed(entry.files):
        _remove_temp_files(home, file)
        snapshot = file.snapshot(home)
        current = read_bytes_or_none(snapshot.path)
        if current == file.before:
            if current is None:
                restore_exact_bytes(snapshot)  # removes the folders the operation made
            continue
        if current is not None and file.after is not None and not file.is_post_image(current):
            copy = home.resolve(LEARNING_DIR, RECOVERED_DIR, stamp, *file.path.split("/"))
            copy.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(copy, current)
            saved.append((file.path, copy))
        restore_exact_bytes(snapshot)
        restored.append(file.path)
    if entry.whole_spec:
        known = {f.path for f in entry.files}
        for path in _spec_files(home):
            relative = home.relative(path)
            if relative not in known:
                # created by the plug-in's edit; kept, in case it was not
                copy = home.resolve(LEARNING_DIR, RECOVERED_DIR, stamp, *relative.split("/"))
                copy.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, copy)
                saved.append((relative, copy))
                restored.append(relative)
    return sorted(set(restored)), saved


def _spec_files(home: SpecHome) -> list[Path]:
    files = []
    for name in SPEC_PATHS:
        top = home.root / name
        if top.is_file():
            files.append(top)
        elif top.is_dir():
            files.extend(sorted(p for p in top.rglob("*") if p.is_file() or p.is_symlink()))
    return files


def remove_stale_git_locks(store: CheckpointStore, wait: float = 2.0) -> list[str]:
    """Remove git lock files an interrupted run of ours left (see the module docstring)."""
    candidates = [store.git_path("index.lock"), store.git_path("HEAD.lock")]
    branch = store.git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).stdout.decode().strip()
    if branch:
        candidates.append(store.git_path(branch + ".lock"))
    present = [path for path in candidates if path.exists()]
    if not present:
        return []
    git_dir = store.git_path(".")
    live = live_git_processes(store.top, git_dir)
    if live is None:
        raise CheckpointError(
            f"an interrupted run left {present[0]}, and this system cannot tell whether a "
            "git process is still using it",
            hint="if no git command is running in this repository, remove that file",
        )
    if live and wait_for_exit(live, wait):
        raise CheckpointError(
            f"{present[0]} exists and git (pid {', '.join(map(str, live))}) is running in "
            "the repository",
            hint="wait for it to finish, then run again",
        )
    messages = []
    for path in present:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            messages.append(f"recovered: removed {path.name} left by a git killed mid-write")
    return messages
