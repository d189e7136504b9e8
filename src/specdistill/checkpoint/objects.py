"""Spec commits with the fewest git processes: trees and commits written in-process.

The plumbing way to commit (``update-index``, ``write-tree``, ``commit-tree``,
``update-ref``, ``reset``) starts five git processes per edit, most of an
edit's commit cost. :class:`FastCommits` builds the same commit with none of
the first three:

* blobs through one long-lived ``git hash-object -w --stdin-paths`` per run, so
  git itself applies the repository's attributes and filters to the work tree file;
* the parent's trees read through one long-lived ``git cat-file --batch``, and
  kept (only the trees on the changed paths are ever read);
* the new trees and the commit object written here as loose objects
  (``"<type> <size>\\0" + body``, SHA-1, zlib; written to a temporary file,
  then linked into place, as git does), byte-identical to what ``write-tree``
  and ``commit-tree`` write (tested against them and ``git fsck --strict``).

HEAD's branch moves by the same compare-and-swap as ``git update-ref``, done
in-process with git's lock files where the refs are plain files
(:mod:`specdistill.checkpoint.refs`), and the user's index is synced with
``reset``: one process per edit. No index is written to
build the commit, so the user's staged work cannot be swept in.

Whatever this does not cover exactly (a SHA-256 repository, signed commits, a
commit encoding, a shared repository, a symlink or a submodule on a changed
path) raises :class:`Unsupported` before anything is written, and the store
uses the plumbing instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from specdistill.checkpoint.git import Git
from specdistill.errors import CheckpointError

if TYPE_CHECKING:
    from specdistill.checkpoint.refs import LooseRefs

TREE_MODE = b"40000"
FILE_MODES = (b"100644", b"100755")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_TRUE = ("true", "yes", "on", "1")


class Unsupported(Exception):
    """The fast path does not cover this repository or change exactly: use plumbing."""


@dataclass(frozen=True)
class TreeEntry:
    mode: bytes
    name: bytes
    sha: bytes  # 20 raw bytes

    def sort_key(self) -> bytes:
        # git orders a tree's entries by name, a subtree's name as if it ended in "/".
        return self.name + b"/" if self.mode == TREE_MODE else self.name


def parse_tree(data: bytes) -> list[TreeEntry]:
    """A tree object's body as its entries."""
    entries = []
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        entries.append(TreeEntry(data[pos:space], data[space + 1 : nul], data[nul + 1 : nul + 21]))
        pos = nul + 21
    return entries


def format_tree(entries: Sequence[TreeEntry]) -> bytes:
    """A tree object's body, entries in git's order."""
    ordered = sorted(entries, key=TreeEntry.sort_key)
    return b"".join(e.mode + b" " + e.name + b"\0" + e.sha for e in ordered)


def object_id(kind: str, body: bytes) -> str:
    header = f"{kind} {len(body)}\0".encode()
    return hashlib.sha1(header + body).hexdigest()


def _config(listing: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values.setdefault(key.lower() if "." in key else key, value)
    return values


def _ident_parts(ident: str) -> tuple[bytes, bytes]:
    """``Name <email> 1700000000 +0100`` as (``Name <email>``, ``1700000000 +0100``)."""
    end = ident.rfind(">")
    if end < 0:
        raise Unsupported(f"unexpected identity {ident!r}")
    return ident[: end + 1].encode("utf-8"), ident[end + 1 :].strip().encode()


def now_stamp() -> bytes:
    """Now as git writes it in an identity: ``<seconds> <+hhmm>`` (local offset)."""
    seconds = int(time.time())
    offset = time.localtime(seconds).tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return f"{seconds} {sign}{offset // 60:02d}{offset % 60:02d}".encode()


class FastCommits:
    """Commit objects for one repository, written with no git process per commit.

    Made by :meth:`open` (two git processes, once), which returns None when the
    repository needs something only git's own commands do. :meth:`close` ends
    the two long-lived readers (they also end when this process does).
    """

    def __init__(
        self,
        git: Git,
        objects: Path,
        config: Mapping[str, str],
        identity_env: Mapping[str, str],
    ) -> None:
        self.git = git
        self.objects = objects
        self.filemode = config.get("core.filemode", "true").lower() in _TRUE
        level = config.get("core.loosecompression", config.get("core.compression", "1"))
        self.level = int(level) if level.lstrip("-").isdigit() else 1
        self.author, self.author_date = _ident_parts(config.get("GIT_AUTHOR_IDENT", ""))
        self.committer, self.committer_date = _ident_parts(config.get("GIT_COMMITTER_IDENT", ""))
        env = {**os.environ, **identity_env}
        self.fixed_author_date = bool(env.get("GIT_AUTHOR_DATE"))
        self.fixed_committer_date = bool(env.get("GIT_COMMITTER_DATE"))
        self.identity_env = dict(identity_env)
        self._hasher: subprocess.Popen[bytes] | None = None
        self._reader: subprocess.Popen[bytes] | None = None
        self._trees: dict[str, list[TreeEntry]] = {}
        self._commit_trees: dict[str, str] = {}
        #: HEAD's branch moved in-process (None: this repository needs ``git update-ref``).
        self.refs: LooseRefs | None = None

    @classmethod
    def open(cls, git: Git) -> FastCommits | None:
        identity = git.identity_env()
        listing = git.out("var", "-l", env=identity)
        config = _config(listing)
        if config.get("extensions.objectformat", "sha1").lower() != "sha1":
            return None
        if config.get("commit.gpgsign", "false").lower() in _TRUE:
            return None
        if config.get("i18n.commitencoding", "utf-8").lower() not in ("utf-8", "utf8"):
            return None
        shared = config.get("core.sharedrepository", "false").lower()
        if shared not in ("false", "no", "off", "0", "umask"):
            return None
        try:
            found = git.out("rev-parse", "--git-path", "objects", "--git-dir", "--git-common-dir")
            objects, git_dir, common_dir = (
                path if path.is_absolute() else git.cwd / path
                for path in map(Path, found.splitlines())
            )
            fast = cls(git, objects, config, identity)
        except (Unsupported, ValueError):
            return None
        from specdistill.checkpoint.refs import LooseRefs  # it builds on this module

        fast.refs = LooseRefs.open(
            git_dir,
            common_dir,
            objects,
            config,
            fast.committer,
            fast.committer_date if fast.fixed_committer_date else None,
        )
        return fast

    def close(self) -> None:
        for proc in (self._hasher, self._reader):
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(OSError):
                    assert proc.stdin is not None
                    proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if proc is not None and proc.stdout is not None:
                proc.stdout.close()
        self._hasher = self._reader = None

    # -- the commit ----------------------------------------------------------------
    def commit(self, files: Sequence[str], message: str, parent: str | None) -> str:
        """Write the commit of ``parent`` with ``files`` (repo-relative) as they are in
        the work tree now (absent: removed); return its id. Moves no ref."""
        changes: dict[tuple[bytes, ...], tuple[bool, bytes] | None] = {}
        present: list[str] = []
        for name in files:
            try:
                info = os.lstat(self.git.cwd / name)
            except FileNotFoundError:
                changes[tuple(name.encode("utf-8", "surrogateescape").split(b"/"))] = None
                continue
            if not stat.S_ISREG(info.st_mode):
                raise Unsupported(f"{name} is not a regular file")
            present.append(name)
            executable = bool(info.st_mode & stat.S_IXUSR)
            changes[tuple(name.encode("utf-8", "surrogateescape").split(b"/"))] = (executable, b"")
        blobs = self._hash_files(present)
        for name, blob in zip(present, blobs, strict=True):
            key = tuple(name.encode("utf-8", "surrogateescape").split(b"/"))
            executable = changes[key][0]  # type: ignore[index]
            changes[key] = (executable, bytes.fromhex(blob))
        base = self._tree_of(parent) if parent else None
        tree = self._update(base, changes) or self._write("tree", b"")
        author = self.author_date if self.fixed_author_date else now_stamp()
        committer = self.committer_date if self.fixed_committer_date else now_stamp()
        body = b"tree " + tree.encode() + b"\n"
        if parent:
            body += b"parent " + parent.encode() + b"\n"
        body += b"author " + self.author + b" " + author + b"\n"
        body += b"committer " + self.committer + b" " + committer + b"\n\n"
        sha = self._write("commit", body + message.encode("utf-8"))
        self._commit_trees[sha] = tree
        return sha

    def _update(
        self, tree: str | None, changes: dict[tuple[bytes, ...], tuple[bool, bytes] | None]
    ) -> str | None:
        """The tree ``tree`` with ``changes`` made (None: it ends up empty)."""
        entries = {e.name: e for e in self._read_tree(tree)} if tree else {}
        below: dict[bytes, dict[tuple[bytes, ...], tuple[bool, bytes] | None]] = {}
        for parts, new in changes.items():
            if len(parts) > 1:
                below.setdefault(parts[0], {})[parts[1:]] = new
                continue
            old = entries.get(parts[0])
            if old is not None and old.mode not in FILE_MODES:
                raise Unsupported("a changed path is a folder, symlink or submodule in HEAD")
            if new is None:
                entries.pop(parts[0], None)
                continue
            executable, blob = new
            if self.filemode or old is None:
                mode = FILE_MODES[1] if executable and self.filemode else FILE_MODES[0]
            else:
                mode = old.mode  # core.filemode=false: the mode git already has
            entries[parts[0]] = TreeEntry(mode, parts[0], blob)
        for name, inner in below.items():
            old = entries.get(name)
            if old is not None and old.mode != TREE_MODE:
                raise Unsupported("a changed path's folder is a file or submodule in HEAD")
            subtree = self._update(old.sha.hex() if old else None, inner)
            if subtree is None:
                entries.pop(name, None)
            else:
                entries[name] = TreeEntry(TREE_MODE, name, bytes.fromhex(subtree))
        if not entries:
            return None
        ordered = list(entries.values())
        sha = self._write("tree", format_tree(ordered))
        self._trees[sha] = ordered
        return sha

    # -- objects -----------------------------------------------------------------------
    def _write(self, kind: str, body: bytes) -> str:
        """Write a loose object (if absent) and return its id."""
        raw = f"{kind} {len(body)}\0".encode() + body
        sha = hashlib.sha1(raw).hexdigest()
        folder = self.objects / sha[:2]
        final = folder / sha[2:]
        if final.exists():
            with contextlib.suppress(OSError):
                os.utime(final)  # fresh again, as git does, so a prune keeps it
            return sha
        folder.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(zlib.compress(raw, self.level))
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, final)
            except FileExistsError:
                pass  # written meanwhile: the same bytes
            except OSError:
                os.replace(tmp, final)  # no hard links here
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return sha

    def _tree_of(self, commit: str) -> str:
        tree = self._commit_trees.get(commit)
        if tree is None:
            kind, body = self._read_object(commit)
            if kind != b"commit" or not body.startswith(b"tree "):
                raise CheckpointError(f"{commit} is not a commit")
            tree = body[5:45].decode()
            self._commit_trees[commit] = tree
        return tree

    def _read_tree(self, tree: str) -> list[TreeEntry]:
        entries = self._trees.get(tree)
        if entries is None:
            kind, body = self._read_object(tree)
            if kind != b"tree":
                raise CheckpointError(f"{tree} is not a tree")
            entries = parse_tree(body)
            if len(self._trees) > 4096:
                self._trees.clear()  # bounded: only the trees on changed paths matter
            self._trees[tree] = entries
        return entries

    def _read_object(self, sha: str) -> tuple[bytes, bytes]:
        if self._reader is None:
            self._reader = self.git.start("cat-file", "--batch")
        proc = self._reader
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3:
                raise CheckpointError(f"git cat-file could not read {sha}")
            size = int(header[2])
            body = proc.stdout.read(size + 1)[:size]
        except (OSError, ValueError, CheckpointError) as exc:
            self.close()  # started afresh next time
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"git cat-file failed reading {sha}: {exc}") from exc
        return header[1], body

    def _hash_files(self, names: Sequence[str]) -> list[str]:
        """Write the work tree files ``names`` as blobs (git's filters applied)."""
        if not names:
            return []
        if self._hasher is None:
            self._hasher = self.git.start(
                "hash-object", "-w", "--stdin-paths", env=self.identity_env
            )
        if any("\n" in name for name in names):
            raise Unsupported("a path with a newline")
        proc = self._hasher
        assert proc.stdin is not None and proc.stdout is not None
        shas = []
        try:
            for name in names:
                proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
                proc.stdin.flush()
                line = proc.stdout.readline().strip().decode()
                if len(line) != 40:
                    raise CheckpointError(f"git hash-object could not read {name}")
                shas.append(line)
        except (OSError, CheckpointError) as exc:
            self.close()  # started afresh next time
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"git hash-object failed: {exc}") from exc
        return shas
