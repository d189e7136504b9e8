"""A checkpointed run: lock, recovery, a ready repository, and one commit per edit.

:func:`checkpointed_run` is what every writing command goes through::

    with checkpointed_run(home, command="apply", session_id=sid) as run:
        execute_edits(edits=..., ctx=ctx, autonomy_mode=..., checkpoint=run)

On entry it defers SIGINT/SIGTERM, takes the home's lock (LockHeld at once if a
live process holds it), recovers an interrupted operation, makes sure the
repository exists with a baseline commit, and refuses a dirty spec (or, with
``allow_dirty``, commits it as "manual changes"). :class:`CheckpointRun` is the
execute loop's checkpoint: it journals each edit's intent before the loop
writes, commits the applied edit, clears the journal, and after a Ctrl-C tells
the loop to stop once the edit in flight is finished or undone. It holds no
pre-image of its own (a failed commit is undone from the loop's change set);
the journal on disk is the change set's durable form, read back only by
recovery after a crash. On exit, even through an exception, the lock is
released and the signal handlers restored.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from specdistill.changeset import ChangeSet, FileChange, TreeSnapshot
from specdistill.checkpoint.commits import edit_message
from specdistill.checkpoint.faults import fault_point
from specdistill.checkpoint.journal import JournalEntry, JournalFile
from specdistill.checkpoint.lock import HomeLock
from specdistill.checkpoint.recovery import recover
from specdistill.checkpoint.rollback import RollbackReport, last_session, revert_session
from specdistill.checkpoint.store import CheckpointStore
from specdistill.errors import CheckpointError
from specdistill.home import SpecHome
from specdistill.models import Edit, utc_now

if TYPE_CHECKING:
    from specdistill.context import ApplyContext

Notify = Callable[[str], None]


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class DeferredSignals:
    """Turn SIGINT/SIGTERM into a flag while an edit must not be cut in half.

    Only the main thread can install handlers; elsewhere this does nothing
    (the journal still makes an interrupted edit recoverable).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, notify: Notify | None = _stderr) -> None:
        self.notify = notify
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            if self.notify is not None:
                name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
                self.notify(f"{name}: finishing the edit in flight, then stopping")

    @property
    def exit_code(self) -> int:
        return 128 + (self.received or 0)

    def __enter__(self) -> DeferredSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                previous = signal.getsignal(sig)
                signal.signal(sig, self._handle)
                self._previous[sig] = previous if previous is not None else signal.SIG_DFL
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()


class CheckpointRun:
    """The checkpoint of one run: implements the execute loop's ``checkpoint=`` hook
    (:class:`specdistill.execute.EditCheckpoint`)."""

    def __init__(
        self,
        store: CheckpointStore,
        session_id: str,
        signals: DeferredSignals,
        lock: HomeLock,
        notes: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.session_id = session_id
        self.signals = signals
        self.lock = lock
        #: What setting up the run did (recovery, baseline, manual changes), for the user.
        self.notes = list(notes)
        #: edit id -> the commit that records it, in the order applied
        self.commits: dict[str, str] = {}
        self.head = store.head()
        self._entry: JournalEntry | None = None
        #: The edit in flight's change set, as the loop holds it: restored if the
        #: commit fails (the entry is what was written to disk for recovery).
        self._pending: ChangeSet | TreeSnapshot | None = None
        self._written = 0

    @property
    def stop_requested(self) -> bool:
        return self.signals.received is not None

    # -- the journal: called by the execute loop, before and while writing -----------------
    def record_intent(self, edit: Edit, pending: ChangeSet | TreeSnapshot) -> None:
        """Journal the edit's pre-images (and post-image hashes) durably; no file changed yet.

        A :class:`TreeSnapshot` (a plug-in applier doing its own I/O) journals
        every spec file, with its post-image unknown.
        """
        home = self.store.home
        if isinstance(pending, ChangeSet):
            files = tuple(
                JournalFile.from_snapshot(home, snapshot, change.after)
                for change, snapshot in zip(pending.changes, pending.pre_images, strict=True)
            )
        else:
            files = tuple(JournalFile.from_snapshot(home, s, "?") for s in pending.pre_images)
        entry = JournalEntry(
            kind="edit",
            label=edit.id,
            head=self.head,
            marker={"edit_id": edit.id, "session_id": self.session_id},
            files=files,
            whole_spec=isinstance(pending, TreeSnapshot),
        )
        try:
            self.store.journal.write(entry)
        except OSError as exc:  # a failure to journal fails the command, never the edit
            raise CheckpointError(
                f"cannot journal edit {edit.id!r} in {self.store.journal.directory} "
                f"({exc.strerror or exc}); it was not applied",
                hint="make learning/journal writable (disk full? permissions?), then run again",
            ) from None
        self._entry, self._pending = entry, pending
        self._written = 0
        fault_point("edit:before-write")

    def file_written(self, edit: Edit, change: FileChange) -> None:
        self._written += 1
        if self._entry is not None and self._written < len(self._entry.files):
            fault_point("edit:between-files")

    # -- checkpoint=: called by the execute loop ---------------------------------------------
    def edit_started(self, edit: Edit, ctx: ApplyContext) -> None:
        if ctx.spec_home.root != self.store.home.root:
            raise CheckpointError(
                f"the edit's context is for {ctx.spec_home.root}, "
                f"but this run checkpoints {self.store.home.root}"
            )
        self._entry, self._pending = None, None

    def edit_applied(self, edit: Edit, ctx: ApplyContext) -> None:
        """Commit the applied edit (one commit, even when it changed nothing).

        If the commit does not land, the edit is undone (from its change set)
        and CheckpointError says so.
        """
        entry, self._entry = self._entry, None
        pending, self._pending = self._pending, None
        fault_point("edit:after-write")
        if entry is None or entry.whole_spec:
            paths = self.store.dirty_paths()  # the spec was clean before this edit
        else:
            paths = [f.path for f in entry.files]
        try:
            sha = self.store.commit_files(
                paths, edit_message(edit, self.session_id), parent=self.head
            )
        except CheckpointError as exc:
            if entry is not None and self.store.commit_landed(entry):
                raise CheckpointError(
                    f"edit {edit.id!r} was committed, but finishing it failed: {exc.message}",
                    hint="run the command again: it finishes the interrupted step first",
                ) from exc
            if pending is not None:
                pending.restore()
            if entry is not None:
                self.store.journal.clear()
            raise CheckpointError(
                f"edit {edit.id!r} could not be committed, so it was undone: {exc.message}",
                hint=exc.hint,
            ) from exc
        fault_point("edit:after-index")
        self.store.journal.clear()
        self.head = sha
        self.commits[edit.id] = sha

    def edit_not_applied(self, edit: Edit, ctx: ApplyContext) -> None:
        """The edit failed or was rejected and the loop restored its files: forget its intent."""
        entry, self._entry = self._entry, None
        self._pending = None
        if entry is not None:
            self.store.journal.clear()


def new_session_id() -> str:
    """A session id for a run that has none: UTC timestamp plus a random suffix."""
    return utc_now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


@contextmanager
def checkpointed_run(
    home: SpecHome | str | os.PathLike[str],
    *,
    command: str,
    session_id: str = "",
    allow_dirty: bool = False,
    require_clean: bool = True,
    notify: Notify | None = _stderr,
) -> Iterator[CheckpointRun]:
    """Lock the home, recover, prepare the repository; yield the run's checkpoint."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    with (
        DeferredSignals(notify) as signals,
        HomeLock(spec_home.learning_dir, f"specdistill {command}") as lock,
    ):
        notes = []
        if lock.took_over is not None:
            notes.append(f"took over a stale lock of {lock.took_over.describe()}")
        store = CheckpointStore(spec_home)
        try:
            notes.extend(recover(spec_home, store))
            baseline = store.ensure_repo()
            store.check_git_idle()
            if baseline:
                notes.append(f"checkpoint: baseline commit {baseline[:10]} of the spec files")
            if allow_dirty:
                manual = store.commit_manual_changes(session_id or None)
                if manual:
                    notes.append(f"checkpoint: committed your uncommitted changes as {manual[:10]}")
            elif require_clean:
                store.check_clean()
            yield CheckpointRun(store, session_id, signals, lock, notes)
        finally:
            store.close()  # the long-lived git readers of in-process commits


def init_checkpoints(home: SpecHome | str | os.PathLike[str]) -> list[str]:
    """Make sure a new home has its repository and baseline commit; say what was done."""
    with checkpointed_run(home, command="init", require_clean=False, notify=None) as run:
        notes = list(run.notes)
        if not any("baseline" in note for note in notes):
            notes.append(f"checkpoint: spec tracked in the git repository at {run.store.top}")
        return notes


def recover_home(home: SpecHome | str | os.PathLike[str]) -> list[str]:
    """Take the lock and recover an interrupted operation (what every command does first)."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    with (
        DeferredSignals(notify=None),
        HomeLock(spec_home.learning_dir, "specdistill recover") as lock,
    ):
        notes = []
        if lock.took_over is not None:
            notes.append(f"took over a stale lock of {lock.took_over.describe()}")
        return notes + recover(spec_home)


def rollback_session(
    home: SpecHome | str | os.PathLike[str],
    session_id: str | None = None,
    *,
    last: bool = False,
    allow_dirty: bool = False,
    notify: Notify | None = _stderr,
) -> RollbackReport:
    """Roll back ``session_id`` (or, with ``last``, the newest session) under the lock."""
    if (session_id is None and not last) or (session_id is not None and last):
        raise TypeError("pass either a session id or last=True")
    with checkpointed_run(home, command="rollback", allow_dirty=allow_dirty, notify=notify) as run:
        target = session_id if session_id is not None else last_session(run.store)
        report = revert_session(run.store, target)
        report.notes = run.notes
        return report
