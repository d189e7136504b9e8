"""Moving HEAD's branch without a git process: git's own loose-ref lock protocol.

``git update-ref -m <msg> HEAD <new> <old>`` costs a process per edit. In a
repository whose refs are plain files (the ``files`` backend), :class:`LooseRefs`
does what it does, in the same order and with the same locks, so that git and
specdistill exclude each other exactly as two gits would:

1. create ``HEAD.lock`` with ``O_EXCL`` (retrying for ``core.filesRefLockTimeout``,
   100 ms by default, then failing as git does); HEAD must still be the symbolic
   ref ``ref: refs/heads/<branch>`` it was;
2. create ``refs/heads/<branch>.lock`` the same way; under it, the branch's value
   (the loose file, or ``packed-refs`` when there is none) must equal the expected
   old commit, else the move is refused like update-ref's compare-and-swap;
3. write the new id to the lock file and fsync it;
4. append the reflog lines (``logs/refs/heads/<branch>``, ``logs/HEAD``) in git's
   format: ``<old> <new> <committer> <time> <tz>\\t<message>``, the message
   normalised as git normalises ``-m``;
5. rename the lock file over the ref, and remove ``HEAD.lock``.

Anything else — a reftable repository, a detached or symlinked HEAD, a branch that
is itself a symbolic ref, an unusual ref name or a ref file git would have to
interpret, a new commit that is not a loose object here — raises
:class:`~specdistill.checkpoint.objects.Unsupported` with nothing changed (the
locks taken so far removed), and the store runs ``git update-ref`` instead. A
process killed between steps leaves lock files that recovery removes (they are
the same files a killed ``git update-ref`` leaves).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from collections.abc import Mapping
from pathlib import Path

from specdistill.checkpoint.faults import fault_point
from specdistill.checkpoint.objects import Unsupported, now_stamp
from specdistill.errors import CheckpointError

_SHA1 = re.compile(rb"[0-9a-f]{40}")
#: Branch names handled here: plain components, none hidden or a lock file.
_BRANCH = re.compile(
    r"refs/heads/(?:[A-Za-z0-9_][A-Za-z0-9._+-]*)(?:/[A-Za-z0-9_][A-Za-z0-9._+-]*)*"
)
_LOCK_HINT = (
    "another git process is using this repository; if none is running, "
    "remove the .lock file named above"
)


def reflog_message(message: str) -> str:
    """``message`` as git writes it into a reflog (``copy_reflog_msg``): runs of
    whitespace become one space, leading and trailing whitespace is dropped."""
    return " ".join(message.split())


class LooseRefs:
    """HEAD's branch of one files-backend repository, moved in-process (module docstring)."""

    def __init__(
        self,
        git_dir: Path,
        common_dir: Path,
        objects: Path,
        config: Mapping[str, str],
        committer: bytes,
        fixed_date: bytes | None,
    ) -> None:
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.objects = objects
        self.committer = committer
        self.fixed_date = fixed_date
        logall = config.get("core.logallrefupdates", "true").lower()
        self.autocreate_logs = logall in ("true", "yes", "on", "1", "always")
        timeout = config.get("core.filesreflocktimeout", "100")
        self.lock_timeout = (int(timeout) if timeout.lstrip("-").isdigit() else 100) / 1000

    @classmethod
    def open(
        cls,
        git_dir: Path,
        common_dir: Path,
        objects: Path,
        config: Mapping[str, str],
        committer: bytes,
        fixed_date: bytes | None,
    ) -> LooseRefs | None:
        """The in-process ref store, or None when this repository's refs are not plain files."""
        if config.get("extensions.refstorage", "files").lower() != "files":
            return None
        if config.get("core.repositoryformatversion", "0") not in ("0", "1"):
            return None
        return cls(git_dir, common_dir, objects, config, committer, fixed_date)

    # -- the update ------------------------------------------------------------------
    def move_head(self, new: str, old: str | None, message: str, fault: str | None = None) -> None:
        """Point HEAD's branch at ``new`` if it is at ``old`` (as ``update-ref -m``).

        Raises Unsupported (nothing changed) for what only git should do, and
        CheckpointError when git would fail: a lock held, the branch moved, an
        I/O error (the ref unchanged). ``fault`` names the kill point reached
        with both locks held and the reflogs written, before the rename.
        """
        try:
            self._move_head(new, old, message, fault)
        except OSError as exc:
            raise CheckpointError(
                f"could not update {self.git_dir / 'HEAD'}'s branch ({exc.strerror or exc})"
            ) from None

    def _move_head(self, new: str, old: str | None, message: str, fault: str | None) -> None:
        if old is None or not _SHA1.fullmatch(new.encode()) or not _SHA1.fullmatch(old.encode()):
            raise Unsupported("an unborn branch or an unexpected id")
        if not (self.objects / new[:2] / new[2:]).is_file():
            raise Unsupported("the new commit is not a loose object")
        head_path = self.git_dir / "HEAD"
        branch = self._branch(head_path)
        head_lock = self._lock(head_path)
        try:
            if self._branch(head_path) != branch:
                raise Unsupported("HEAD changed while it was being locked")
            ref_path = self.common_dir / branch
            ref_lock = self._lock(ref_path)
            try:
                current = self._read(ref_path, branch)
                if current != old:
                    raise CheckpointError(
                        f"git update-ref failed in {self.git_dir.parent}: cannot lock ref "
                        f"'HEAD': is at {current or '(nothing)'} but expected {old}"
                    )
                fd = os.open(ref_lock, os.O_WRONLY)
                try:
                    os.write(fd, new.encode() + b"\n")
                    os.fsync(fd)
                finally:
                    os.close(fd)
                line = self._reflog_line(old, new, message)
                self._append_log(self.common_dir / "logs" / branch, line)
                self._append_log(self.git_dir / "logs" / "HEAD", line)
                if fault is not None:
                    fault_point(fault)
                os.replace(ref_lock, ref_path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(ref_lock)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(head_lock)

    # -- the steps ---------------------------------------------------------------------
    def _branch(self, head_path: Path) -> str:
        """HEAD's branch (``refs/heads/...``); Unsupported unless HEAD is a plain symref."""
        try:
            if not os.path.isfile(head_path) or os.path.islink(head_path):
                raise Unsupported("HEAD is not a plain file")
            data = head_path.read_bytes()
        except OSError as exc:
            raise Unsupported(f"HEAD cannot be read: {exc}") from None
        if not data.startswith(b"ref: ") or not data.endswith(b"\n"):
            raise Unsupported("HEAD is detached or unusual")
        branch = data[5:-1].decode("ascii", "replace")
        if not _BRANCH.fullmatch(branch) or ".." in branch or branch.endswith(".lock"):
            raise Unsupported(f"an unusual branch name {branch!r}")
        return branch

    def _lock(self, path: Path) -> Path:
        """Create ``<path>.lock`` exclusively, retrying as git does; return its path."""
        lock = path.with_name(path.name + ".lock")
        deadline = time.monotonic() + max(self.lock_timeout, 0)
        backoff = 0.001
        while True:
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                if time.monotonic() >= deadline:
                    raise CheckpointError(
                        f"git update-ref failed in {self.git_dir.parent}: cannot lock ref "
                        f"'HEAD': Unable to create '{lock}': File exists.",
                        hint=_LOCK_HINT,
                    ) from None
                time.sleep(backoff * random.uniform(0.75, 1.25))
                backoff = min(backoff * 2, 0.05)
                continue
            except FileNotFoundError:
                raise Unsupported(f"{lock.parent} does not exist") from None
            except OSError as exc:
                raise CheckpointError(f"cannot create {lock}: {exc.strerror or exc}") from None
            os.close(fd)
            return lock

    def _read(self, ref_path: Path, branch: str) -> str | None:
        """The branch's commit: the loose file, else its ``packed-refs`` line, else None."""
        try:
            data = ref_path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return self._packed(branch)
        except OSError as exc:
            raise Unsupported(f"{ref_path} cannot be read: {exc}") from None
        value = data.rstrip(b"\n")
        if not _SHA1.fullmatch(value) or not data.endswith(b"\n") or data.count(b"\n") != 1:
            raise Unsupported(f"{ref_path} is not a plain commit id")
        return value.decode()

    def _packed(self, branch: str) -> str | None:
        try:
            data = (self.common_dir / "packed-refs").read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Unsupported(f"packed-refs cannot be read: {exc}") from None
        wanted = branch.encode()
        for line in data.splitlines():
            if line.startswith((b"#", b"^")):
                continue
            sha, _, name = line.partition(b" ")
            if name == wanted:
                if not _SHA1.fullmatch(sha):
                    raise Unsupported("an unusual packed-refs line")
                return sha.decode()
        return None

    def _reflog_line(self, old: str, new: str, message: str) -> bytes:
        when = self.fixed_date if self.fixed_date is not None else now_stamp()
        line = f"{old} {new} ".encode() + self.committer + b" " + when
        text = reflog_message(message)
        if text:
            line += b"\t" + text.encode("utf-8", "surrogateescape")
        return line + b"\n"

    def _append_log(self, path: Path, line: bytes) -> None:
        """Append to a reflog; create it only where git would (core.logAllRefUpdates)."""
        flags = os.O_WRONLY | os.O_APPEND
        if self.autocreate_logs:
            path.parent.mkdir(parents=True, exist_ok=True)
            flags |= os.O_CREAT
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:
            return  # no reflog, and none to create
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
