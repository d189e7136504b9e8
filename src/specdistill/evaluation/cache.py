"""The result cache: one SQLite table of scored task runs, in ``learning/cache.db``.

A result is stored under a :class:`CacheKey` made of

- the task id and its content hash (any change to the task misses),
- the fingerprint of the spec parts the student reads for that task
  (:meth:`~specdistill.evaluation.spec_view.StudentSpec.fingerprint`),
- the runner hash: the student's identity (kind, endpoint or argv or function), the
  scorer code version and, for judge-scored tasks, the judge's endpoint and model,
- the repeat index (repeats of one task are distinct samples).

So the baseline of a gate is never paid for twice, and an edit to agent A leaves every
entry of tasks served only by agent B valid. Only scored results are stored: an error
is never cached, so the next run tries again.

The database runs in WAL mode with a busy timeout, so two processes may share it. An
unreadable file is never ignored or silently replaced: :class:`CacheCorrupt` tells the
user to run ``specdistill cache clear``, which deletes the file.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from specdistill.errors import RuntimeFailure
from specdistill.evaluation.errors import CacheCorrupt
from specdistill.evaluation.hashing import sha256_hex
from specdistill.home import LEARNING_DIR, SpecHome

CACHE_FILE = "cache.db"
SCHEMA_VERSION = 1
_COLUMNS = (
    "key",
    "task_id",
    "fingerprint",
    "runner",
    "repeat",
    "score",
    "answer",
    "latency",
    "created_at",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    runner TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    score REAL NOT NULL,
    answer TEXT NOT NULL,
    latency REAL NOT NULL,
    created_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class CacheKey:
    """Everything a cached result depends on."""

    task_id: str
    task_hash: str
    fingerprint: str
    runner: str
    repeat: int = 0

    def digest(self) -> str:
        return sha256_hex(
            [self.task_id, self.task_hash, self.fingerprint, self.runner, self.repeat]
        )


@dataclass(frozen=True)
class CachedResult:
    score: float
    answer: str
    latency: float


@dataclass(frozen=True)
class CacheStats:
    path: Path
    entries: int
    tasks: int
    size_bytes: int


def cache_path(home: str | os.PathLike[str] | SpecHome) -> Path:
    """``<home>/learning/cache.db``."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    return spec_home.resolve(LEARNING_DIR, CACHE_FILE)  # a link out of the home is refused


class ResultCache:
    """Scored results in SQLite. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db: sqlite3.Connection | None = None
        with self._guard():
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")  # a cache: durable enough, fast
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise CacheCorrupt(
                    self.path, f"schema version {version}, expected {SCHEMA_VERSION}"
                )
            self._db.execute(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            columns = tuple(row[1] for row in self._db.execute("PRAGMA table_info(results)"))
            if columns != _COLUMNS:
                raise CacheCorrupt(self.path, "the results table has unexpected columns")

    @classmethod
    def for_home(cls, home: str | os.PathLike[str] | SpecHome) -> ResultCache:
        """The cache of a spec home (``learning/cache.db``), created if absent."""
        return cls(cache_path(home))

    def __repr__(self) -> str:
        return f"ResultCache({str(self.path)!r})"

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Translate sqlite errors: lock contention is a runtime failure, the rest corruption."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise RuntimeFailure(f"the result cache {self.path} is busy ({exc})") from None
            self._close_quietly()
            raise CacheCorrupt(self.path, str(exc)) from None
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise CacheCorrupt(self.path, str(exc)) from None
        except CacheCorrupt:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeFailure(f"the result cache {self.path} is closed")
        return self._db

    def get(self, key: CacheKey) -> CachedResult | None:
        with self._guard():
            row = self.db.execute(
                "SELECT score, answer, latency FROM results WHERE key = ?", (key.digest(),)
            ).fetchone()
        if row is None:
            return None
        score, answer, latency = row
        if not (_finite(score) and _finite(latency) and isinstance(answer, str)):
            self._close_quietly()  # a corrupt row: nothing read from this file is trusted
            raise CacheCorrupt(
                self.path, f"a stored result is not a (score, answer, latency) row: {row!r:.80}"
            )
        return CachedResult(float(score), answer, float(latency))

    def put(self, key: CacheKey, *, score: float, answer: str, latency: float) -> None:
        """Store a scored result (errors must never be stored: they have no score)."""
        now = datetime.now(UTC).isoformat()
        with self._guard():
            self.db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.digest(),
                    key.task_id,
                    key.fingerprint,
                    key.runner,
                    key.repeat,
                    float(score),
                    answer,
                    float(latency),
                    now,
                ),
            )

    def stats(self) -> CacheStats:
        with self._guard():
            entries, tasks = self.db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM results"
            ).fetchone()
        size = sum(p.stat().st_size for p in (self.path, *_sidecars(self.path)) if p.exists())
        return CacheStats(self.path, int(entries), int(tasks), size)

    def clear(self) -> int:
        """Delete every entry; return how many there were."""
        with self._guard():
            count = self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            self.db.execute("DELETE FROM results")
        return int(count)

    def close(self) -> None:
        self._close_quietly()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _finite(value: object) -> bool:
    """A real, finite number (SQLite keeps whatever was stored, whatever the column type)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def cache_stats(home: str | os.PathLike[str] | SpecHome) -> CacheStats:
    """Entries, distinct tasks and bytes of a home's cache (zero if it has none).

    Raises CacheCorrupt for an unreadable file.
    """
    path = cache_path(home)
    if not path.exists():
        return CacheStats(path, 0, 0, 0)
    with ResultCache(path) as cache:
        return cache.stats()


def cache_clear(home: str | os.PathLike[str] | SpecHome) -> int | None:
    """Delete a home's cache file (and its WAL files); works on a corrupt file too.

    Returns the number of entries removed, or None if the file was unreadable.
    """
    path = cache_path(home)
    if not path.exists():
        return 0
    count: int | None
    try:
        with ResultCache(path) as cache:
            count = cache.stats().entries
    except CacheCorrupt:
        count = None
    for file in (path, *_sidecars(path)):
        with contextlib.suppress(FileNotFoundError):
            file.unlink()
    return count
