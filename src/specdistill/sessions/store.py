"""Sessions on disk: ``learning/sessions/<id>/`` holds the truth, SQLite an index of it.

Each session directory holds ``plan.json`` (written once, then frozen),
``session.json`` (the authoritative record, rewritten atomically), ``routing.json``
(each edit's tier and route as executed: :mod:`specdistill.sessions.routing`) and the
reports. ``learning/learning.db`` indexes them for listings and queries; it
can always be rebuilt from the JSON files (:meth:`SessionStore.reindex`).
"""

from __future__ import annotations

import builtins  # SessionStore.list shadows the builtin inside the class
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from specdistill.checkpoint.faults import fault_point
from specdistill.errors import InvalidInput, RuntimeFailure, UnsafePath
from specdistill.fsio import atomic_write_bytes
from specdistill.home import LEARNING_DIR, SpecHome, check_name
from specdistill.models import LearningPlan, LearningSession, SessionStatus, utc_now
from specdistill.sessions.lifecycle import RUNNING, transition

PLAN_FILE = "plan.json"
SESSION_FILE = "session.json"
SESSIONS_DIR = "sessions"
INDEX_FILE = "learning.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    trigger TEXT NOT NULL,
    autonomy_mode TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    n_edits INTEGER NOT NULL,
    n_applied INTEGER NOT NULL,
    n_pending INTEGER NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS edit_outcomes (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    edit_id TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    PRIMARY KEY (session_id, edit_id)
);
CREATE INDEX IF NOT EXISTS edit_outcomes_status ON edit_outcomes(status);
"""


class SessionNotFound(InvalidInput):
    """No session with that id in this home."""


class CorruptSessionData(RuntimeFailure):
    """A session file or the index cannot be read."""


class RecordNotWritten(RuntimeFailure):
    """A session's record (``session.json``, its plan, routing, evidence, a report or the
    index) could not be written: disk full, read-only, no permission. A failure of the
    command, never an edit outcome; the next command repairs the records from git."""

    def __init__(self, what: str, exc: OSError | sqlite3.Error) -> None:
        self.what = what
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        super().__init__(
            f"could not record {what} ({reason})",
            hint="free disk space (or fix the permissions under learning/), then run "
            "'specdistill recover': git stays the truth and the records are repaired from it",
        )


@dataclass(frozen=True)
class SessionSummary:
    """One row of a session listing."""

    id: str
    status: str
    trigger: str
    autonomy_mode: str
    started_at: str
    ended_at: str | None
    n_edits: int
    n_applied: int
    n_pending: int
    error: str | None


def new_session_id() -> str:
    """Sortable and unique enough: UTC timestamp plus a random suffix."""
    return utc_now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class SessionStore:
    """Reads and writes sessions under ``<home>/learning/``."""

    def __init__(self, home: SpecHome | str | Path) -> None:
        self.home = home if isinstance(home, SpecHome) else SpecHome(home)
        # Through the path gate, like spec files: a link out of the home is refused.
        self.sessions_dir = self.home.resolve(LEARNING_DIR, SESSIONS_DIR)
        self.db_path = self.home.resolve(LEARNING_DIR, INDEX_FILE)

    # -- files ---------------------------------------------------------------------
    def session_dir(self, session_id: str) -> Path:
        try:
            check_name(session_id, "session id")
        except UnsafePath as exc:
            raise SessionNotFound(exc.message) from None
        return self.home.resolve(LEARNING_DIR, SESSIONS_DIR, session_id)

    def create(self, session: LearningSession, plan: LearningPlan) -> Path:
        """Write a new session's frozen plan and first record, and index it."""
        directory = self.session_dir(session.id)
        if directory.exists():
            raise InvalidInput(f"session {session.id} already exists")
        try:
            directory.mkdir(parents=True)
        except OSError as exc:
            raise RecordNotWritten(f"session {session.id}: {directory}", exc) from None
        plan_path = directory / PLAN_FILE
        try:
            data = plan.model_dump_json(indent=2).encode() + b"\n"
            self._write(session.id, plan_path, data, mode=0o444)
            session = session.model_copy(update={"plan_path": plan_path})
            self.save(session)
        except RecordNotWritten:
            if not (directory / SESSION_FILE).exists():  # nothing recorded: leave no trace
                shutil.rmtree(directory, ignore_errors=True)
            raise
        return directory

    def save(self, session: LearningSession) -> None:
        """Rewrite ``session.json`` atomically, then update the index."""
        directory = self.session_dir(session.id)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordNotWritten(f"session {session.id}: {directory}", exc) from None
        data = session.model_dump_json(indent=2).encode() + b"\n"
        try:
            self._write(session.id, directory / SESSION_FILE, data)
        except RecordNotWritten:
            if not any(directory.iterdir()):  # a new session's folder, still empty
                directory.rmdir()
            raise
        fault_point("record:before-index")
        with self._db() as db:
            _index(db, session)

    def load(self, session_id: str) -> LearningSession:
        path = self.session_dir(session_id) / SESSION_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not path.parent.is_dir():
                raise SessionNotFound(
                    f"no session {session_id!r} in {self.home.root}",
                    hint="'specdistill history' lists the sessions",
                ) from None
            raise CorruptSessionData(
                f"session {session_id}: {SESSION_FILE} is missing",
                hint=f"restore {path} from a backup; the spec itself is unaffected",
            ) from None
        try:
            return LearningSession.model_validate_json(text)
        except ValidationError as exc:
            raise CorruptSessionData(
                f"session {session_id}: {path} is corrupt ({exc.error_count()} problems, "
                f"first: {exc.errors(include_url=False)[0]['msg']})",
                hint=f"restore {path} from a backup; the spec itself is unaffected",
            ) from None

    def load_plan(self, session_id: str) -> LearningPlan:
        path = self.session_dir(session_id) / PLAN_FILE
        try:
            return LearningPlan.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CorruptSessionData(f"session {session_id}: {PLAN_FILE} is missing") from None
        except ValidationError as exc:
            raise CorruptSessionData(f"session {session_id}: {path} is corrupt ({exc})") from None

    def write_file(
        self, session_id: str, name: str, data: bytes, *, mode: int | None = None
    ) -> Path:
        """Write a report (or another artifact) into the session's directory."""
        path = self.session_dir(session_id) / check_name(name, "file name")
        self._write(session_id, path, data, mode=mode)
        return path

    def _write(self, session_id: str, path: Path, data: bytes, *, mode: int | None = None) -> None:
        """Every write into a session's directory: atomic, and a failure to write (disk
        full, read-only, no permission) is RecordNotWritten, a failure of the command."""
        try:
            atomic_write_bytes(path, data, mode=mode)
        except OSError as exc:
            shown = (
                path.relative_to(self.home.root) if path.is_relative_to(self.home.root) else path
            )
            raise RecordNotWritten(f"session {session_id}: {shown} was not written", exc) from None

    def session_ids_on_disk(self) -> list[str]:
        if not self.sessions_dir.is_dir():
            return []
        return sorted(p.name for p in self.sessions_dir.iterdir() if (p / SESSION_FILE).exists())

    # -- the index -------------------------------------------------------------------
    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # No index yet (a home OpenJarvis wrote, or one whose index was deleted): it is
        # built from the session files first, so their sessions are listed and queued.
        adopt = not self.db_path.exists() and self.db_path.name == INDEX_FILE
        try:
            db = sqlite3.connect(self.db_path, timeout=10)
            try:
                db.execute("PRAGMA foreign_keys = ON")
                db.executescript(SCHEMA)
                if adopt:
                    with db:
                        self._index_files(db)
                with db:
                    yield db
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            if (getattr(exc, "sqlite_errorcode", -1) & 0xFF) in _CANNOT_WRITE:  # primary code
                raise RecordNotWritten(f"the session index {self.db_path}", exc) from None
            raise CorruptSessionData(
                f"the session index {self.db_path} cannot be used ({exc})",
                hint="run 'specdistill doctor --reindex' to rebuild it from the session files",
            ) from None
        except OSError as exc:  # its directory cannot be created
            raise RecordNotWritten(f"the session index {self.db_path}", exc) from None

    def _index_files(self, db: sqlite3.Connection) -> builtins.list[str]:
        """Index every readable session file; return one line per unreadable one."""
        skipped = []
        for session_id in self.session_ids_on_disk():
            try:
                _index(db, self.load(session_id))
            except CorruptSessionData as exc:
                skipped.append(exc.message)
        return skipped

    def close_interrupted(self) -> list[str]:
        """Mark sessions a dead process left mid-run as failed; say which.

        Call only while holding the home's lock: then no live process can be running
        them. Their spec edit in flight, if any, was already restored by the journal.
        """
        notes = []
        for session_id in self.session_ids_on_disk():  # the files: the index may lag them
            try:
                session = self.load(session_id)
            except CorruptSessionData:
                continue  # doctor reports it
            if session.status.value not in RUNNING:
                continue
            session = transition(
                session,
                SessionStatus.FAILED,
                error=f"interrupted while {session.status.value}: the process running it "
                "stopped before it finished",
            )
            self.save(session)
            notes.append(f"recovered: session {session_id} had been interrupted; marked failed")
        return notes

    def check_index(self) -> None:
        """Raise CorruptSessionData now if the index is unusable (not SQLite, or tables
        that are not ours), before a command commits anything it would then fail to record.
        """
        if not self.db_path.exists():
            return  # created, with our schema, when first written
        try:  # read-only: checking changes nothing, even in a foreign database
            db = sqlite3.connect(f"{self.db_path.as_uri()}?mode=ro", uri=True, timeout=10)
            try:
                for table, columns in _COLUMNS.items():
                    found = tuple(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
                    if found and found != columns:
                        raise sqlite3.DatabaseError(f"table {table} has foreign columns {found}")
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            raise CorruptSessionData(
                f"the session index {self.db_path} cannot be used ({exc})",
                hint="run 'specdistill doctor --reindex' to rebuild it from the session files",
            ) from None

    def reindex_session(self, session: LearningSession) -> None:
        """Re-index one session from its record (the file is the authority)."""
        with self._db() as db:
            _index(db, session)

    def drop_orphan_rows(self) -> builtins.list[str]:
        """Remove index rows of sessions with no files; return their ids."""
        on_disk = set(self.session_ids_on_disk())
        with self._db() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM sessions").fetchall()]
            orphans = [i for i in ids if i not in on_disk]
            rows = [(i,) for i in orphans]
            db.executemany("DELETE FROM edit_outcomes WHERE session_id = ?", rows)
            db.executemany("DELETE FROM sessions WHERE id = ?", rows)
        return orphans

    def list(self, limit: int | None = None) -> list[SessionSummary]:
        """Sessions, newest first."""
        query = "SELECT * FROM sessions ORDER BY started_at DESC, id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            query += " LIMIT ?"
            params = (limit,)
        with self._db() as db:
            rows = db.execute(query, params).fetchall()
        return [SessionSummary(*row) for row in rows]

    def pending_review(self) -> builtins.list[tuple[str, str]]:
        """``(session id, edit id)`` of every edit waiting for review, per the index.

        Oldest session first, each session's edits in plan order. Callers confirm
        against ``session.json``, which stays the authority.
        """
        query = (
            "SELECT e.session_id, e.edit_id FROM edit_outcomes e "
            "JOIN sessions s ON s.id = e.session_id WHERE e.status = 'pending_review' "
            "ORDER BY s.started_at, s.id, e.position"
        )
        with self._db() as db:
            return [(sid, eid) for sid, eid in db.execute(query).fetchall()]

    def find_edit(self, edit_id: str) -> builtins.list[tuple[str, str]]:
        """``(session id, outcome status)`` of every session holding an edit with this id."""
        query = "SELECT session_id, status FROM edit_outcomes WHERE edit_id = ? ORDER BY session_id"
        with self._db() as db:
            return [(sid, status) for sid, status in db.execute(query, (edit_id,)).fetchall()]

    def reindex(self) -> tuple[int, builtins.list[str]]:
        """Rebuild ``learning.db`` from the session files.

        Returns the number of sessions indexed and one line per session skipped
        because its files are unreadable (they are left as they are).
        """
        # Built aside and renamed over the old index: a kill at any point leaves the old
        # index or the new one, never an empty or half-built one.
        final, self.db_path = self.db_path, self.db_path.with_name(f".{INDEX_FILE}.rebuild")
        count, skipped = 0, []
        try:
            self.db_path.unlink(missing_ok=True)
            with self._db() as db:
                for session_id in self.session_ids_on_disk():
                    try:
                        session = self.load(session_id)
                    except CorruptSessionData as exc:
                        skipped.append(exc.message)
                        continue
                    _index(db, session)
                    count += 1
            for suffix in ("-journal", "-wal", "-shm"):  # the old index's, not the new one's
                final.with_name(final.name + suffix).unlink(missing_ok=True)
            fault_point("reindex:before-replace")
            os.replace(self.db_path, final)
        finally:
            self.db_path.unlink(missing_ok=True)
            self.db_path = final
        return count, skipped


#: SQLite's result codes for "could not write" (full, read-only, I/O error, cannot open):
#: a record not written, not a corrupt index.
_CANNOT_WRITE = {
    code
    for name in ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")
    if (code := getattr(sqlite3, name, None)) is not None
}

#: The index's tables and their columns, as SCHEMA creates them.
_COLUMNS = {
    "sessions": (
        "id", "status", "trigger", "autonomy_mode", "started_at", "ended_at",
        "n_edits", "n_applied", "n_pending", "error",
    ),
    "edit_outcomes": ("session_id", "position", "edit_id", "status", "error"),
}  # fmt: skip


def _index(db: sqlite3.Connection, session: LearningSession) -> None:
    outcomes = session.edit_outcomes
    db.execute(
        "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session.id,
            session.status.value,
            session.trigger.value,
            session.autonomy_mode.value,
            session.started_at.isoformat(),
            session.ended_at.isoformat() if session.ended_at else None,
            len(outcomes),
            sum(o.status == "applied" for o in outcomes),
            sum(o.status == "pending_review" for o in outcomes),
            session.error,
        ),
    )
    db.execute("DELETE FROM edit_outcomes WHERE session_id = ?", (session.id,))
    db.executemany(
        "INSERT INTO edit_outcomes VALUES (?, ?, ?, ?, ?)",
        [(session.id, i, o.edit_id, o.status, o.error) for i, o in enumerate(outcomes)],
    )


def dump_session_json(session: LearningSession) -> str:
    """The same JSON as ``session.json`` (for ``--json`` output)."""
    return json.dumps(json.loads(session.model_dump_json()), indent=2)
