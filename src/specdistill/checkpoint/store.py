"""The checkpoint store: the spec home's git repository, and commits made safely in it.

The home may be its own repository or a subdirectory of a user's existing one;
either way the store only ever *appends* to history (never re-initialises,
resets or rewrites it) and only ever stages the home's ``config.toml``,
``agents/`` and ``tools/``. ``learning/`` is kept out through
``.git/info/exclude`` (a tracked ``.gitignore`` is never edited).

Commits are made with plumbing, so a user's unrelated staged or unstaged work
can never be swept into a spec commit and no hook runs: the commit's tree is
built in a private index (``learning/git-index``, a copy of HEAD plus the
changed files, read by git from the work tree), the commit object is written
with ``commit-tree`` (or both written in-process: :mod:`.objects`), HEAD moves by
one compare-and-swap, ``update-ref`` or git's lock protocol in-process
(:mod:`.refs`), so a concurrent commit makes ours fail instead of being lost,
and only then are the real index's entries for the changed paths set to the new HEAD.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from specdistill.checkpoint.commits import OURS_GREP, LogEntry, checkpoint_message, parse_trailers
from specdistill.checkpoint.faults import fault_point
from specdistill.checkpoint.git import Git, find_repo_top, parse_status_z
from specdistill.checkpoint.journal import Journal, JournalEntry
from specdistill.checkpoint.objects import FastCommits, Unsupported
from specdistill.errors import CheckpointError, DirtyTree
from specdistill.home import CONFIG_FILE, LEARNING_DIR, SPEC_PATHS, SpecHome

PRIVATE_INDEX = "git-index"
_OPERATIONS_IN_PROGRESS = (
    "MERGE_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "rebase-merge",
    "rebase-apply",
)
_LOG_FORMAT = "%H%x1f%cI%x1f%s%x1f%(trailers:only,unfold)%x1e"


class CheckpointStore:
    """Git checkpoints of one spec home.

    >>> store = CheckpointStore("~/.openjarvis")          # doctest: +SKIP
    >>> store.ensure_repo()   # git init + baseline commit when needed
    >>> store.check_clean()   # DirtyTree if tracked spec files carry hand edits
    >>> store.log()[-1].kind
    'baseline'
    """

    def __init__(self, home: SpecHome | str | os.PathLike[str]) -> None:
        self.home = home if isinstance(home, SpecHome) else SpecHome(home)
        self.journal = Journal(self.home)
        self._top: Path | None = None
        self._prefix = ""
        self._git: Git | None = None
        self._private_index_of: str | None = None  # the commit the private index mirrors
        #: In-process commits (None: not opened yet; False: this repository needs plumbing).
        self._fast: FastCommits | bool | None = None

    def close(self) -> None:
        """End the long-lived git readers of the in-process commits, if any were started."""
        if isinstance(self._fast, FastCommits):
            self._fast.close()
        self._fast = None

    # -- the repository ------------------------------------------------------------
    def find_repo(self) -> bool:
        """Locate the repository holding the home (without creating one)."""
        if self._git is not None:
            return True
        top = find_repo_top(self.home.root)
        if top is None:
            return False
        prefix = self.home.root.resolve().relative_to(top.resolve()).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        git = Git(top)
        if prefix:
            ignored = git.run(
                "check-ignore", "-q", "--", prefix + CONFIG_FILE, ok=(0, 1), literal=False
            )
            if ignored.returncode == 0:
                return False  # the user's repo ignores the home: it gets its own
        self._top, self._prefix, self._git = top, prefix, git
        return True

    @property
    def git(self) -> Git:
        if self._git is None and not self.find_repo():
            raise CheckpointError(
                f"{self.home.root} is not in a git repository",
                hint="run 'specdistill init' (or any apply) to create one",
            )
        assert self._git is not None
        return self._git

    @property
    def top(self) -> Path:
        self.git  # noqa: B018 (locates the repository)
        assert self._top is not None
        return self._top

    @property
    def prefix(self) -> str:
        """The home's path inside the repository ("" or ending in "/")."""
        self.git  # noqa: B018 (locates the repository)
        return self._prefix

    def repo_path(self, home_relative: str) -> str:
        """A home-relative path as a path relative to the repository's top."""
        return self._prefix + home_relative

    def home_path(self, repo_relative: str) -> str:
        return repo_relative[len(self._prefix) :]

    def spec_pathspecs(self) -> list[str]:
        return [self.repo_path(name) for name in SPEC_PATHS]

    def git_path(self, name: str) -> Path:
        """A path inside the git directory (``git rev-parse --git-path``), absolute."""
        return self.git_paths(name)[0]

    def git_paths(self, *names: str) -> list[Path]:
        """Several paths inside the git directory, with one git call."""
        args = [arg for name in names for arg in ("--git-path", name)]
        paths = [Path(line) for line in self.git.out("rev-parse", *args).splitlines()]
        return [path if path.is_absolute() else self.top / path for path in paths]

    def head(self) -> str | None:
        """HEAD's commit, or None on an unborn branch."""
        proc = self.git.run("rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1))
        return proc.stdout.decode().strip() or None

    def ensure_repo(self, session_id: str | None = None) -> str | None:
        """Find or create the repository; make the baseline commit if the spec is untracked.

        Returns the baseline commit when one was made.
        """
        if not self.find_repo():
            Git(self.home.root).run("init", "-q")
            if not self.find_repo():
                raise CheckpointError(f"git init in {self.home.root} did not create a repository")
        self._exclude_learning()
        self._refuse_operation_in_progress()
        head = self.head()
        if head is not None:
            probe = f"HEAD:{self.repo_path(CONFIG_FILE)}"
            if self.git.run("cat-file", "-e", probe, ok=(0, 128)).returncode == 0:
                return None
        new = [self.home_path(p) for xy, p in self._status() if xy[0] in "?A"]
        if not new:
            return None
        return self.commit_checkpoint("baseline", new, session_id)

    def _exclude_learning(self) -> None:
        pattern = "/" + _escape_ignore(self._prefix + LEARNING_DIR) + "/"
        exclude = self.git_path("info/exclude")
        try:
            lines = exclude.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        if pattern in lines:
            return
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("a", encoding="utf-8") as handle:
            if lines and lines[-1] != "":
                handle.write("\n")
            handle.write(f"# specdistill's own state (never committed)\n{pattern}\n")

    def check_git_idle(self, wait: float = 1.0) -> None:
        """Refuse to start while a git process holds the repository's index lock.

        Checked up front, so that a run never fails half-way through an edit's
        bookkeeping because the user's git (an editor open on ``git commit``)
        holds the index.
        """
        lock = self.git_path("index.lock")
        deadline = time.monotonic() + wait
        while lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # a user's "git status" holds it for a moment
        if lock.exists():
            raise CheckpointError(
                f"{lock} exists: another git process is using the repository",
                hint="wait for it to finish; if no git is running, remove that file",
            )

    def _refuse_operation_in_progress(self) -> None:
        for name, path in zip(
            _OPERATIONS_IN_PROGRESS, self.git_paths(*_OPERATIONS_IN_PROGRESS), strict=True
        ):
            if path.exists():
                raise CheckpointError(
                    f"the repository at {self.top} is in the middle of a merge, rebase, "
                    f"cherry-pick or revert ({name} exists)",
                    hint="finish or abort it, then run again",
                )

    # -- the state of the spec files ------------------------------------------------
    def _status(self) -> list[tuple[str, str]]:
        proc = self.git.run(
            "--no-optional-locks",
            "status",
            "--porcelain=v1",
            "-z",
            "--no-renames",
            "--untracked-files=all",
            "--",
            *self.spec_pathspecs(),
        )
        return parse_status_z(proc.stdout)

    def dirty_paths(self) -> list[str]:
        """Spec files (home-relative) that differ from HEAD: modified, staged, new or deleted."""
        return sorted({self.home_path(path) for _, path in self._status()})

    def check_clean(self) -> None:
        """Raise DirtyTree naming the spec files with uncommitted changes."""
        dirty = self.dirty_paths()
        if dirty:
            raise DirtyTree(dirty)

    def commit_manual_changes(self, session_id: str | None = None) -> str | None:
        """Commit uncommitted spec changes as a "manual changes" checkpoint (``--allow-dirty``)."""
        dirty = self.dirty_paths()
        return self.commit_checkpoint("manual-changes", dirty, session_id) if dirty else None

    def commit_checkpoint(self, kind: str, paths: list[str], session_id: str | None) -> str:
        """A baseline / manual-changes commit of ``paths`` as they are in the work tree."""
        entry = JournalEntry(
            kind="checkpoint",
            label=kind,
            head=self.head(),
            marker={"checkpoint": kind},
            paths=tuple(paths),
        )
        self.journal.write(entry)
        sha = self.commit_files(
            paths, checkpoint_message(kind, session_id, paths), fault_prefix="checkpoint"
        )
        self.journal.clear()
        return sha

    # -- commits -----------------------------------------------------------------------
    def private_index(self, parent: str | None) -> Path:
        """The private index, holding ``parent``'s tree; the caller will change it."""
        index = self._prepare_private_index(parent)
        self._private_index_of = None  # until a commit built from it lands
        return index

    def private_index_mirrors(self, commit: str) -> None:
        """Record that the private index now holds ``commit``'s tree."""
        self._private_index_of = commit

    def _prepare_private_index(self, parent: str | None) -> Path:
        index = self.home.learning_dir / PRIVATE_INDEX
        if self._private_index_of != parent or parent is None or not index.exists():
            index.parent.mkdir(parents=True, exist_ok=True)
            for stale in (index, index.with_name(PRIVATE_INDEX + ".lock")):
                stale.unlink(missing_ok=True)  # ours alone: the home lock is held
            if parent is None:
                self.git.run("read-tree", "--empty", index_file=index)
            else:
                self.git.run("read-tree", parent, index_file=index)
            self._private_index_of = parent
        return index

    def commit_files(
        self,
        paths: list[str],
        message: str,
        *,
        fault_prefix: str = "edit",
        parent: str | None = None,
    ) -> str:
        """Commit exactly ``paths`` (home-relative) as they are in the work tree.

        An empty ``paths`` makes an empty commit. HEAD moves only if it is still
        ``parent`` (default: HEAD now), in one atomic update.
        """
        if parent is None:
            parent = self.head()
        files = [self.repo_path(p) for p in paths]
        fast = self._fast_commit(files, message, parent)
        if fast is None:
            index = self.private_index(parent)
            if files:
                self.git.run("update-index", "--add", "--remove", "--", *files, index_file=index)
            tree = self.git.out("write-tree", index_file=index)
            sha = self.commit_tree(tree, parent, message)
        else:
            sha = fast
            self._private_index_of = None  # it holds an older tree: rebuilt when next needed
        self.move_head(
            sha, parent, message, fault="edit:ref-locked" if fault_prefix == "edit" else None
        )
        if fast is None:
            self.private_index_mirrors(sha)
        fault_point(f"{fault_prefix}:after-commit")
        self.sync_index(paths)
        return sha

    def _fast_commit(self, files: list[str], message: str, parent: str | None) -> str | None:
        """The commit written in-process (no index, no git process), or None when this
        repository or change needs the plumbing (:mod:`specdistill.checkpoint.objects`)."""
        fast = self._fast_commits()
        if fast is None:
            return None
        try:
            return fast.commit(files, message, parent)
        except Unsupported:
            return None

    def _fast_commits(self) -> FastCommits | None:
        if self._fast is None:
            self._fast = FastCommits.open(self.git) or False
        return self._fast if isinstance(self._fast, FastCommits) else None

    def commit_tree(self, tree: str, parent: str | None, message: str) -> str:
        parents = ["-p", parent] if parent else []
        return self.git.out(
            "commit-tree",
            tree,
            *parents,
            "-F",
            "-",
            input=message.encode("utf-8"),
            env=self.git.identity_env(),
        )

    def move_head(
        self, new: str, old: str | None, message: str, *, fault: str | None = None
    ) -> None:
        """Point HEAD (its branch) at ``new`` if it still is at ``old`` — atomically.

        In-process with git's own lock files where the refs are plain files
        (:mod:`specdistill.checkpoint.refs`), else with ``git update-ref``; the same
        compare-and-swap, locks and reflog message either way.
        """
        reason = "specdistill: " + message.splitlines()[0]
        fast = self._fast_commits()
        try:
            if fast is not None and fast.refs is not None:
                with contextlib.suppress(Unsupported):
                    fast.refs.move_head(new, old, reason, fault)
                    return
            self.git.run("update-ref", "-m", reason, "HEAD", new, old or "")
        except CheckpointError as exc:
            raise CheckpointError(
                f"could not move HEAD to the new spec commit: {exc.message}",
                hint="another program committed to the repository during the run; run again",
            ) from None

    def sync_index(self, paths: list[str]) -> None:
        """Set the real index's entries for ``paths`` to HEAD's (leaving all others alone)."""
        if paths:
            self.git.run("reset", "-q", "--", *[self.repo_path(p) for p in paths], ok=(0, 1))

    # -- reading history -------------------------------------------------------------
    def log(self, limit: int | None = None, revisions: str = "HEAD") -> list[LogEntry]:
        """Commits specdistill wrote, newest first."""
        if not self.find_repo() or self.head() is None:
            return []
        args = ["log", f"--format={_LOG_FORMAT}", "-E", f"--grep={OURS_GREP}"]
        if limit is not None:
            args.append(f"-n{int(limit)}")
        text = self.git.run(*args, revisions, "--").stdout.decode("utf-8", "replace")
        entries = []
        for record in text.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            commit, when, subject, trailers = [*record.split("\x1f"), "", "", ""][:4]
            entry = LogEntry.from_trailers(commit, when, subject, parse_trailers(trailers))
            if entry is not None:
                entries.append(entry)
        return entries

    def commit_landed(self, entry: JournalEntry) -> str | None:
        """The commit of the journaled operation if it reached HEAD's history, else None."""
        if self.head() is None:
            return None
        marker = entry.marker
        if "commit" in marker:
            sha = marker["commit"]
            proc = self.git.run("merge-base", "--is-ancestor", sha, "HEAD", ok=(0, 1, 128))
            return sha if proc.returncode == 0 else None
        revisions = f"{entry.head}..HEAD" if entry.head else "HEAD"
        with contextlib.suppress(CheckpointError):
            for log_entry in self.log(limit=200, revisions=revisions):
                if "edit_id" in marker:
                    if (
                        log_entry.kind == "edit"
                        and log_entry.edit_id == marker["edit_id"]
                        and log_entry.session_id == marker.get("session_id")
                    ):
                        return log_entry.commit
                elif log_entry.kind == marker.get("checkpoint"):
                    return log_entry.commit
        return None


def _escape_ignore(path: str) -> str:
    """Escape a literal path for a gitignore pattern."""
    out = "".join("\\" + c if c in "\\*?[]!# " else c for c in path)
    return out
