"""Rolling back a session: revert its edit commits, newest first, as new commits.

History is never rewritten. Every revert is computed before anything is
written: for each file an edit changed, a three-way merge (``git merge-file``)
of the file as it is now against the edit's before/after versions. If a later
commit changed the same (or adjacent) lines, the merge conflicts and the
rollback is refused with the later session named — and since nothing was
written yet, the work tree, the index and HEAD are exactly as they were.

When every revert merges cleanly, the revert commits are built as a chain in
the private index (one commit per reverted edit, each with ``Reverts-Edit-ID``
and ``Reverts-Commit`` trailers), then applied as one journaled operation:
intent, files, one atomic move of HEAD to the chain's tip, index, done. A crash
leaves either none of the session's reverts or all of them.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from specdistill.changeset import capture
from specdistill.checkpoint.commits import LogEntry, parse_trailers, revert_message
from specdistill.checkpoint.faults import fault_point
from specdistill.checkpoint.journal import JournalEntry, JournalFile
from specdistill.checkpoint.recovery import restore_pre_images
from specdistill.checkpoint.store import CheckpointStore
from specdistill.errors import CheckpointError
from specdistill.fsio import atomic_write_bytes, read_bytes_or_none
from specdistill.models import utc_now


@dataclass
class RollbackReport:
    """What a rollback did: the edit commits it reverted and the commits it wrote."""

    session_id: str
    rollback_id: str
    reverted: list[LogEntry] = field(default_factory=list)  # newest first
    commits: list[str] = field(default_factory=list)  # the new revert commits, in order
    files: list[str] = field(default_factory=list)  # home-relative
    notes: list[str] = field(default_factory=list)  # what setting up the run did


def new_rollback_id() -> str:
    return "rollback-" + utc_now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def last_session(store: CheckpointStore) -> str:
    """The session of the newest edit commit (what ``rollback --last`` rolls back)."""
    for entry in store.log():
        if entry.kind == "edit" and entry.session_id:
            return entry.session_id
    raise CheckpointError("there is no session to roll back: no edit was ever committed")


def commits_to_revert(store: CheckpointStore, session_id: str) -> list[LogEntry]:
    """The session's edit commits not reverted yet, newest first."""
    entries = store.log()
    reverted = {e.reverts_commit for e in entries if e.kind == "revert"}
    ours = [e for e in entries if e.kind == "edit" and e.session_id == session_id]
    if not ours:
        raise CheckpointError(
            f"session {session_id!r} has no commits in this home's history",
            hint="'specdistill log' lists the sessions and their commits",
        )
    pending = [e for e in ours if e.commit not in reverted]
    if not pending:
        raise CheckpointError(f"session {session_id!r} is already rolled back")
    return pending


def revert_session(
    store: CheckpointStore, session_id: str, *, rollback_id: str | None = None
) -> RollbackReport:
    """Revert ``session_id``'s edit commits (newest first) as new commits.

    Call with the home's lock held and the spec clean (``checkpointed_run``).
    Raises CheckpointError, with nothing changed, if a later commit changed the
    same lines.
    """
    report = RollbackReport(session_id, rollback_id or new_rollback_id())
    targets = commits_to_revert(store, session_id)
    head = store.head()
    planner = _Planner(store, session_id)
    index = store.private_index(head)
    parent = head
    for target in targets:
        changed = planner.revert(target)
        lines, removed = [], []
        for path, (mode, data) in changed.items():
            repo_path = store.repo_path(path)
            if data is None:
                removed.append(repo_path)
                continue
            blob = store.git.out("hash-object", "-w", "--stdin", f"--path={repo_path}", input=data)
            lines.append(f"{mode} {blob}\t{repo_path}\n")
        if lines:
            info = "".join(lines).encode("utf-8", "surrogateescape")
            store.git.run("update-index", "--index-info", input=info, index_file=index)
        if removed:
            store.git.run("update-index", "--force-remove", "--", *removed, index_file=index)
        tree = store.git.out("write-tree", index_file=index)
        parent = store.commit_tree(tree, parent, revert_message(target, report.rollback_id))
        report.commits.append(parent)
        report.reverted.append(target)
    assert parent is not None
    report.files = sorted(planner.final)
    _apply(store, report, head, parent, planner)
    return report


def _apply(
    store: CheckpointStore, report: RollbackReport, head: str | None, tip: str, planner: _Planner
) -> None:
    """Write the final files and move HEAD to ``tip``, as one journaled operation."""
    home = store.home
    files = []
    for path in report.files:
        snapshot = capture(home.resolve(*path.split("/")))
        data = planner.final[path][1]
        files.append(JournalFile.from_snapshot(home, snapshot, data))
    entry = JournalEntry(
        kind="rollback",
        label=report.rollback_id,
        head=head,
        marker={"commit": tip},
        files=tuple(files),
    )
    store.journal.write(entry)
    fault_point("rollback:before-write")
    try:
        for number, path in enumerate(report.files):
            if number:
                fault_point("rollback:between-files")
            mode, data = planner.final[path]
            target = home.resolve(*path.split("/"))
            if data is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                file_mode = 0o755 if mode == "100755" else None
                atomic_write_bytes(target, data, mode=file_mode)
        fault_point("rollback:after-write")
        store.move_head(tip, head, f"rollback of session {report.session_id}")
    except BaseException:
        restore_pre_images(home, entry)
        store.journal.clear()
        raise
    store.private_index_mirrors(tip)
    fault_point("rollback:after-commit")
    store.sync_index(report.files)
    store.journal.clear()


class _Planner:
    """Computes reverts in memory: the running content of every file touched."""

    def __init__(self, store: CheckpointStore, session_id: str) -> None:
        self.store = store
        self.session_id = session_id
        #: home-relative path -> (git mode, bytes or None): the content after the reverts so far
        self.final: dict[str, tuple[str, bytes | None]] = {}

    def current(self, path: str) -> bytes | None:
        if path in self.final:
            return self.final[path][1]
        return read_bytes_or_none(self.store.home.resolve(*path.split("/")))

    def _show(self, commit: str, repo_path: str) -> bytes | None:
        git = self.store.git
        spec = f"{commit}:{repo_path}"
        if git.run("cat-file", "-e", spec, ok=(0, 128)).returncode != 0:
            return None
        return git.run("cat-file", "--filters", spec).stdout

    def _mode(self, commit: str, repo_path: str) -> str:
        out = self.store.git.out("ls-tree", commit, "--", repo_path)
        return out.split(" ", 1)[0] if out else "100644"

    def revert(self, target: LogEntry) -> dict[str, tuple[str, bytes | None]]:
        """The files reverting ``target`` changes, with their new content; raise on conflict."""
        store = self.store
        out = store.git.run(
            "diff-tree",
            "-r",
            "-z",
            "--no-commit-id",
            "--name-only",
            "--no-renames",
            f"{target.commit}^",
            target.commit,
        ).stdout.decode("utf-8", "surrogateescape")
        changed: dict[str, tuple[str, bytes | None]] = {}
        for repo_path in filter(None, out.split("\0")):
            if not repo_path.startswith(store.prefix):
                raise CheckpointError(
                    f"commit {target.short} changed {repo_path}, outside the spec home; "
                    "refusing to revert it"
                )
            path = store.home_path(repo_path)
            base = self._show(target.commit, repo_path)
            theirs = self._show(f"{target.commit}^", repo_path)
            ours = self.current(path)
            merged = self._merge(target, path, repo_path, base, ours, theirs)
            mode = self._mode(f"{target.commit}^", repo_path) if theirs is not None else "100644"
            changed[path] = (mode, merged)
            self.final[path] = (mode, merged)
        return changed

    def _merge(
        self,
        target: LogEntry,
        path: str,
        repo_path: str,
        base: bytes | None,
        ours: bytes | None,
        theirs: bytes | None,
    ) -> bytes | None:
        if ours == base:
            return theirs
        if ours == theirs:
            return ours
        if base is None or ours is None or theirs is None:
            self._refuse(target, path, repo_path)
        assert base is not None and ours is not None and theirs is not None
        with tempfile.TemporaryDirectory(prefix="specdistill-revert-") as scratch:
            names = []
            for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
                file = Path(scratch) / name
                file.write_bytes(data)
                names.append(str(file))
            proc = self.store.git.run("merge-file", "-p", *names, ok=range(0, 128))
        if proc.returncode != 0:
            self._refuse(target, path, repo_path)
        return proc.stdout

    def _refuse(self, target: LogEntry, path: str, repo_path: str) -> None:
        """Raise the refusal, naming the later commits that changed the same file."""
        text = self.store.git.run(
            "log",
            "--format=%H%x1f%s%x1f%(trailers:only,unfold)%x1e",
            f"{target.commit}..HEAD",
            "--",
            repo_path,
        ).stdout.decode("utf-8", "replace")
        sessions: list[str] = []
        others: list[str] = []
        for record in filter(None, (r.strip("\n") for r in text.split("\x1e"))):
            commit, subject, trailers = [*record.split("\x1f"), "", ""][:3]
            entry = LogEntry.from_trailers(commit, "", subject, parse_trailers(trailers))
            if entry is None:
                others.append(f"commit {commit[:10]} ({subject!r}, not made by specdistill)")
            elif entry.session_id is not None and entry.session_id not in (
                self.session_id,
                *sessions,
            ):
                sessions.append(entry.session_id)
        later = [f"session {s!r}" for s in sessions] + others
        what = ", ".join(later) if later else "a later change"
        if sessions:
            hint = f"roll back session {sessions[0]} first: specdistill rollback {sessions[0]}"
        else:
            hint = "revert that later change first, then run the rollback again"
        raise CheckpointError(
            f"cannot roll back session {self.session_id!r}: edit {target.edit_id!r} "
            f"(commit {target.short}) changed lines of {path} that {what} changed later; "
            "nothing was changed",
            hint=hint,
        )
