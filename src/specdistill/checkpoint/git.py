"""The git CLI: the one boundary where git's failures become CheckpointError.

Everything the checkpoint store does to a repository goes through :class:`Git`,
which runs ``git`` as a subprocess with a controlled environment:

* ``--literal-pathspecs``: a home path with ``*`` or ``[`` in it is a path, not a glob;
* ``core.hooksPath=/dev/null``: a user's hooks never run on (or rewrite) spec commits;
* ``GIT_DIR``/``GIT_INDEX_FILE``/... inherited from a surrounding git hook are dropped;
* children run in their own process group, so a Ctrl-C at the terminal reaches
  specdistill (which defers it) and never kills a git that is writing the index;
* when the repository has no ``user.name``/``user.email`` (a fresh CI machine), the
  missing part of the identity is passed as ``specdistill <specdistill@localhost>``
  through ``GIT_AUTHOR_*``/``GIT_COMMITTER_*``; the user's config is never written.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from specdistill.errors import CheckpointError

FALLBACK_NAME = "specdistill"
FALLBACK_EMAIL = "specdistill@localhost"

#: Inherited variables that would point git somewhere else than the home's repo.
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
)


#: git processes started by this process (``run`` and ``start``): benchmarks count them.
_spawned = 0


def spawn_count() -> int:
    """How many git processes this process has started so far."""
    return _spawned


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"  # git's messages are parsed in a few places
    return env


class Git:
    """Run git in one directory (a repository's top level, or a directory to test)."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = Path(cwd)
        self._identity: dict[str, str] | None = None

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        index_file: Path | None = None,
        ok: Sequence[int] = (0,),
        env: Mapping[str, str] | None = None,
        literal: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``git <args>``; raise CheckpointError unless its exit code is in ``ok``.

        ``literal=False`` for the few commands that take paths, not pathspecs.
        """
        global _spawned
        full_env = _base_env()
        if index_file is not None:
            full_env["GIT_INDEX_FILE"] = str(index_file)
        if env:
            full_env.update(env)
        cmd = ["git", "-c", "core.hooksPath=/dev/null", *args]
        if literal:
            cmd.insert(1, "--literal-pathspecs")
        _spawned += 1
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.cwd,
                input=input,
                capture_output=True,
                env=full_env,
                process_group=0,
                check=False,
            )
        except FileNotFoundError:
            if not self.cwd.is_dir():
                raise CheckpointError(f"{self.cwd} does not exist") from None
            raise CheckpointError(
                "git is not installed (or not on PATH)",
                hint="install git: specdistill keeps every spec change as a git commit",
            ) from None
        except OSError as exc:
            raise CheckpointError(f"could not run git in {self.cwd}: {exc}") from exc
        if proc.returncode not in ok:
            raise git_failure(args, proc.returncode, proc.stderr, self.cwd)
        return proc

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-lived ``git <args>`` (a ``--batch``/``--stdin`` reader) on pipes.

        It exits when its stdin is closed, or when this process dies (end of input).
        """
        global _spawned
        full_env = _base_env()
        if env:
            full_env.update(env)
        _spawned += 1
        try:
            return subprocess.Popen(
                ["git", "-c", "core.hooksPath=/dev/null", *args],
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=full_env,
                process_group=0,
            )
        except OSError as exc:
            raise CheckpointError(f"could not run git in {self.cwd}: {exc}") from exc

    def out(self, *args: str, **kwargs: Any) -> str:
        """The command's stdout as text, without the trailing newline."""
        return self.run(*args, **kwargs).stdout.decode("utf-8", "surrogateescape").rstrip("\n")

    # -- identity -----------------------------------------------------------------
    def identity_env(self) -> dict[str, str]:
        """GIT_AUTHOR_*/GIT_COMMITTER_* for the parts of the identity git lacks."""
        if self._identity is None:
            configured = self.run(
                "config", "--get-regexp", r"^user\.(name|email)$", ok=(0, 1)
            ).stdout.decode("utf-8", "replace")
            keys = {line.split(" ", 1)[0] for line in configured.splitlines() if line}
            env: dict[str, str] = {}
            for role in ("AUTHOR", "COMMITTER"):
                if "user.name" not in keys and f"GIT_{role}_NAME" not in os.environ:
                    env[f"GIT_{role}_NAME"] = FALLBACK_NAME
                if "user.email" not in keys and f"GIT_{role}_EMAIL" not in os.environ:
                    env[f"GIT_{role}_EMAIL"] = FALLBACK_EMAIL
            self._identity = env
        return self._identity


def git_failure(args: Sequence[str], code: int, stderr: bytes, cwd: Path) -> CheckpointError:
    """Translate a failed git command into a one-line CheckpointError with a hint."""
    text = stderr.decode("utf-8", "replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    detail = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    detail = detail or (lines[-1] if lines else "no message")
    hint = None
    if ".lock': File exists" in text or ("Unable to create" in text and ".lock" in text):
        hint = (
            "another git process is using this repository; if none is running, "
            "remove the .lock file named above"
        )
    elif "dubious ownership" in text:
        hint = "mark the repository safe (git config --global --add safe.directory ...)"
    return CheckpointError(f"git {args[0]} failed in {cwd} (exit {code}): {detail}", hint=hint)


# -- repository discovery -------------------------------------------------------------


def find_repo_top(path: Path) -> Path | None:
    """The top level of the work tree containing ``path``, or None if it is in none."""
    git = Git(path)
    proc = git.run("rev-parse", "--show-toplevel", ok=(0, 128))
    if proc.returncode == 0:
        return Path(proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n"))
    text = proc.stderr.decode("utf-8", "replace")
    if "not a git repository" in text:
        return None
    # e.g. "dubious ownership": a repository is there, so never create another one.
    raise git_failure(("rev-parse",), proc.returncode, proc.stderr, path)


# -- porcelain status -------------------------------------------------------------------


def parse_status_z(data: bytes) -> list[tuple[str, str]]:
    """``git status --porcelain=v1 -z --no-renames`` output as ``[(XY, path)]``."""
    entries = []
    for record in data.split(b"\0"):
        if len(record) > 3:
            text = record.decode("utf-8", "surrogateescape")
            entries.append((text[:2], text[3:]))
    return entries


# -- stale lock files ---------------------------------------------------------------------


def live_git_processes(*roots: Path) -> list[int] | None:
    """Pids of running git processes whose cwd is under one of ``roots``.

    Linux only (reads /proc); None where that cannot be known. A git process
    whose cwd we may not read counts as live: we only remove a lock when we are
    sure nobody could be writing behind it.
    """
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    resolved = [root.resolve() for root in roots]
    live = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm != "git" and not comm.startswith("git-"):
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except FileNotFoundError:
            continue  # exited meanwhile
        except OSError:
            live.append(int(entry.name))
            continue
        if any(cwd == root or root in cwd.parents for root in resolved):
            live.append(int(entry.name))
    return live


def wait_for_exit(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to exit; return those still alive."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists()]
    return alive
