"""One writer per spec home: ``learning/lock``, held for a whole run.

The lock is a small JSON file ``{pid, host, started_at, command, nonce, ...}``.
It is written to a temp file, fsynced, then published with ``link(2)``, which
fails if the lock exists: creation is exclusive (like ``O_CREAT|O_EXCL``) and a
reader never sees a half-written lock.

A lock is *stale* when its holder is on this host and its pid is gone (or is a
zombie, or was reused by a process that started at another time). Taking over a
stale lock has a classic race: two processes both judge it stale, the first
removes it and publishes its own, and the second then removes the *live* lock.
Takeovers are therefore serialised by ``flock(2)`` on a separate file,
``learning/lock.takeover``, and under that flock a process removes the lock
only if it still has the very bytes (and inode) it judged stale. Publishing
needs no flock: ``link`` can only succeed while no lock exists, so nothing can
slip in between the check and the removal. The kernel drops the flock if its
holder dies, so the takeover file itself can never be stale.

A holder on another host (a home on a network share) is never judged stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from specdistill.errors import LockHeld
from specdistill.fsio import fsync_dir
from specdistill.models import utc_now

LOCK_FILE = "lock"
#: Above any pid a kernel hands out (Linux's PID_MAX_LIMIT is 2**22; 2**31 - 1 bounds
#: the rest): a larger "pid" is a corrupt lock, never a process to signal.
MAX_PID = 2**31 - 1
TAKEOVER_FILE = "lock.takeover"


def _process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), to detect pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process on this host."""
    if not 0 < pid <= MAX_PID:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return not _is_zombie(pid)


@dataclass(frozen=True)
class LockInfo:
    """Who holds a home's lock."""

    pid: int
    host: str
    started_at: str
    command: str
    nonce: str
    proc_start: str | None = None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.started_at} ({self.command})"

    def is_stale(self) -> bool:
        """True only when we can tell, on this host, that the holder is gone."""
        if self.host != socket.gethostname():
            return False
        if not pid_alive(self.pid):
            return True
        start = _process_start(self.pid)
        return self.proc_start is not None and start is not None and start != self.proc_start

    @classmethod
    def mine(cls, command: str) -> LockInfo:
        pid = os.getpid()
        return cls(
            pid=pid,
            host=socket.gethostname(),
            started_at=utc_now().isoformat(timespec="seconds"),
            command=command,
            nonce=secrets.token_hex(8),
            proc_start=_process_start(pid),
        )

    @classmethod
    def parse(cls, data: bytes) -> LockInfo | None:
        """The lock's holder, or None when ``data`` is not a lock this code wrote (not
        JSON, not an object, a pid that cannot be a process id, fields of the wrong type)."""
        try:
            raw: dict[str, Any] = json.loads(data)
            pid, host, proc_start = raw["pid"], raw["host"], raw.get("proc_start")
            if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid <= MAX_PID:
                return None
            if not isinstance(host, str) or not (proc_start is None or isinstance(proc_start, str)):
                return None
            return cls(
                pid=pid,
                host=host,
                started_at=str(raw["started_at"]),
                command=str(raw.get("command", "?")),
                nonce=str(raw.get("nonce", "")),
                proc_start=proc_start,
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None


class HomeLock:
    """The single-writer lock of a spec home; a context manager.

    >>> with HomeLock(home.learning_dir, "specdistill apply"):  # doctest: +SKIP
    ...     ...  # LockHeld was raised at once if another live process holds it
    """

    def __init__(self, learning_dir: Path, command: str) -> None:
        self.directory = Path(learning_dir)
        self.path = self.directory / LOCK_FILE
        self.command = command
        self.info: LockInfo | None = None
        #: The holder whose stale lock this one replaced, if any.
        self.took_over: LockInfo | None = None

    @property
    def held(self) -> bool:
        return self.info is not None

    def acquire(self) -> HomeLock:
        """Take the lock now, or raise LockHeld naming the live holder."""
        if self.info is not None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        info = LockInfo.mine(self.command)
        tmp = self.directory / f".{LOCK_FILE}.{info.nonce}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, json.dumps(asdict(info)).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            for _ in range(20):
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    self._handle_existing()
                    continue
                fsync_dir(self.directory)
                self.info = info
                return self
            raise LockHeld(self.path, "another process (the lock changed hands repeatedly)")
        finally:
            tmp.unlink(missing_ok=True)

    def _handle_existing(self) -> None:
        """The lock exists: raise LockHeld if its holder is alive, else take it over."""
        try:
            data = self.path.read_bytes()
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            return  # released meanwhile: try again
        except OSError as exc:
            raise LockHeld(self.path, f"a lock file that cannot be read ({exc.strerror})") from None
        holder = LockInfo.parse(data)
        if holder is None:
            # Not written by this code (ours are published whole, by link(2)): it may be
            # another tool's or a newer version's, so it is never taken over silently.
            held = LockHeld(self.path, "an unreadable lock file, not one specdistill wrote")
            held.hint = f"if no specdistill command is running on this home, delete {self.path}"
            raise held
        if holder.pid == os.getpid() and holder.host == socket.gethostname():
            raise LockHeld(self.path, f"this same process ({holder.describe()})")
        if not holder.is_stale():
            raise LockHeld(self.path, holder.describe())
        if self._remove_if_unchanged(data, inode):
            self.took_over = holder

    def _remove_if_unchanged(self, data: bytes, inode: int) -> bool:
        """Under the takeover flock, remove the lock if it is still the stale one."""
        # O_NOFOLLOW: a link planted in learning/ never makes us create a file elsewhere.
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.directory / TAKEOVER_FILE, flags, 0o644)
        except OSError as exc:
            reason = f"a lock whose takeover file cannot be opened ({exc})"
            raise LockHeld(self.path, reason) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if self.path.stat().st_ino != inode or self.path.read_bytes() != data:
                    return False  # someone else took it over first
                self.path.unlink()
            except FileNotFoundError:
                return False
            fsync_dir(self.directory)
            return True
        finally:
            os.close(fd)  # also releases the flock

    def release(self) -> None:
        """Remove the lock if it is still ours (never another process's)."""
        if self.info is None:
            return
        try:
            current = LockInfo.parse(self.path.read_bytes())
            if current is not None and current.nonce == self.info.nonce:
                self.path.unlink()
        except FileNotFoundError:
            pass
        self.info = None

    def __enter__(self) -> HomeLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_lock(learning_dir: Path) -> LockInfo | None:
    """The current holder of a home's lock, if any (for status displays and tests)."""
    with contextlib.suppress(OSError):
        return LockInfo.parse((Path(learning_dir) / LOCK_FILE).read_bytes())
    return None
