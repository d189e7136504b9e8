"""``specdistill doctor``: check a spec home's own state, and rebuild the session index.

Each check reads and reports; none of them writes. The one repair is
``reindex=True``, which rebuilds ``learning/learning.db`` from the session files
(under the home's lock) before the checks run, and reports the sessions it had
to skip because their files are unreadable.

Checks: ``config.toml`` parses (and its tier overrides are valid), the git
repository, the session index is readable and agrees with the session
directories, every ``session.json`` and ``plan.json`` is readable, the lock, and
the crash journal.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from specdistill.checkpoint.journal import Journal
from specdistill.checkpoint.lock import HomeLock, read_lock
from specdistill.checkpoint.store import CheckpointStore
from specdistill.context import ApplyContext
from specdistill.errors import SpecdistillError
from specdistill.home import SpecHome
from specdistill.openjarvis import is_openjarvis_session_id
from specdistill.sessions.consistency import Finding, check, repair_if_needed, stale_markers
from specdistill.sessions.store import SessionStore

Level = Literal["ok", "note", "warn", "error"]
REINDEX_HINT = "run 'specdistill doctor --reindex' to rebuild it from the session files"


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, and what to do about it."""

    name: str
    level: Level
    detail: str
    hint: str | None = None


@dataclass
class DoctorReport:
    """Every check's finding, plus what ``--reindex`` did (None when not asked)."""

    home: str
    checks: list[Check] = field(default_factory=list)
    reindexed: int | None = None
    skipped: list[str] = field(default_factory=list)
    #: What ``--reindex`` repaired besides the index (an interrupted operation, records).
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.level != "error" for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "ok": self.ok,
            "reindexed": self.reindexed,
            "skipped": self.skipped,
            "repaired": self.repaired,
            "checks": [asdict(check) for check in self.checks],
        }


def _check_config(home: SpecHome) -> Check:
    try:
        tomllib.loads(home.config_path.read_text(encoding="utf-8"))
        ApplyContext(home=home.root).tier_overrides()
    except FileNotFoundError:
        return Check("config", "error", "config.toml is missing", "create one: specdistill init")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Check("config", "error", f"config.toml is not valid TOML: {exc}", "fix the file")
    except SpecdistillError as exc:
        return Check("config", "error", exc.message, exc.hint)
    return Check("config", "ok", "config.toml parses")


def _check_repository(home: SpecHome) -> Check:
    store = CheckpointStore(home)
    try:
        if not store.find_repo():
            return Check(
                "repository", "warn", "no git repository yet", "the first apply or run creates it"
            )
        head = store.head()
    except SpecdistillError as exc:
        return Check("repository", "error", exc.message, exc.hint)
    where = f"git repository at {store.top}"
    return Check("repository", "ok", f"{where}, HEAD {head[:10] if head else '(unborn)'}")


def _check_index(store: SessionStore) -> Check:
    try:
        indexed = {row.id for row in store.list()}
    except SpecdistillError as exc:
        return Check("index", "error", exc.message, REINDEX_HINT)
    on_disk = set(store.session_ids_on_disk())
    missing, extra = sorted(on_disk - indexed), sorted(indexed - on_disk)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} session(s) not indexed ({', '.join(missing[:3])})")
        if extra:
            parts.append(f"{len(extra)} indexed session(s) without files ({', '.join(extra[:3])})")
        return Check("index", "error", "; ".join(parts), REINDEX_HINT)
    return Check("index", "ok", f"learning.db readable, {len(indexed)} session(s) indexed")


def _check_sessions(store: SessionStore) -> list[Check]:
    ids = store.session_ids_on_disk()
    broken = []
    readable = 0
    for session_id in ids:
        try:
            store.load(session_id)
            store.load_plan(session_id)
        except SpecdistillError as exc:
            broken.append(Check("session", "error", exc.message, exc.hint))
        else:
            readable += 1
    if store.sessions_dir.is_dir():
        for directory in sorted(store.sessions_dir.iterdir()):
            if directory.is_dir() and directory.name not in ids:
                if (
                    is_openjarvis_session_id(directory.name)
                    and not (directory / "plan.json").exists()
                ):
                    # OpenJarvis creates the folder first and writes session.json only when
                    # a session gets past its checks (too few traces: it stops before).
                    broken.append(
                        Check(
                            "session",
                            "note",
                            f"session {directory.name}: an OpenJarvis session that stopped "
                            "before it wrote a record (e.g. too few traces); nothing to restore",
                        )
                    )
                    continue
                broken.append(
                    Check(
                        "session",
                        "error",
                        f"session {directory.name}: session.json is missing",
                        f"restore {directory / 'session.json'} from a backup",
                    )
                )
    found = [Check("sessions", "ok", f"{readable} session file(s) readable")]
    return found + broken if all(c.level == "note" for c in broken) else broken


def _check_lock(home: SpecHome) -> Check:
    holder = read_lock(home.learning_dir)
    if holder is None:
        path = home.learning_dir / "lock"
        if path.exists() or path.is_symlink():
            return Check(
                "lock",
                "error",
                "learning/lock is unreadable (not a lock specdistill wrote): every command "
                "refuses to run while it is there",
                f"if no specdistill command is running on this home, delete {path}",
            )
        return Check("lock", "ok", "free")
    if holder.is_stale():
        return Check(
            "lock",
            "warn",
            f"stale lock of {holder.describe()}",
            "the next command takes it over safely",
        )
    return Check("lock", "ok", f"held by {holder.describe()}")


def _check_journal(home: SpecHome) -> Check:
    journal = Journal(home)
    try:
        entry = journal.read()
    except SpecdistillError as exc:
        return Check("journal", "error", exc.message, exc.hint)
    if entry is not None:
        return Check(
            "journal",
            "warn",
            f"an interrupted {entry.kind} ({entry.label}) is recorded",
            "run 'specdistill recover' (any writing command also does it first)",
        )
    if stale := stale_markers(home):  # an operation that failed or died before recording
        kinds = sorted({_marker_kind(path) for path in stale})
        return Check(
            "journal",
            "warn",
            f"an interrupted {', '.join(kinds)} may have left its records behind git",
            "run 'specdistill recover' (any command also does it first)",
        )
    return Check("journal", "ok", "no interrupted operation")


def _marker_kind(path: os.PathLike[str]) -> str:
    """The operation an (untrusted) marker file names, shown inert; 'operation' if unreadable."""
    try:
        kind = json.loads(Path(path).read_bytes()).get("kind")
    except (OSError, ValueError, AttributeError):
        return "operation"
    return (
        kind if isinstance(kind, str) and kind.isidentifier() and len(kind) <= 20 else "operation"
    )


def _say(finding: Finding) -> str:
    if not finding.session_id:
        return finding.detail
    return f"session {finding.session_id}: {finding.detail}"


def _check_records(home: SpecHome) -> Check:
    """Git, every session.json and the index against each other."""
    try:
        findings = check(home)
    except SpecdistillError as exc:
        return Check("records", "error", exc.message, exc.hint)
    if findings:
        shown = "; ".join(_say(f) for f in findings[:3])
        more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
        return Check(
            "records",
            "error",
            f"git, session.json and the index disagree: {shown}{more}",
            "run 'specdistill doctor --reindex' (or 'specdistill recover') to make them agree",
        )
    if stale_markers(home):
        return Check(
            "records",
            "warn",
            "an operation was interrupted before it finished recording",
            "run 'specdistill recover' (any command also does it first)",
        )
    return Check("records", "ok", "git, session.json and the index agree")


def diagnose(home: str | os.PathLike[str] | SpecHome, *, reindex: bool = False) -> DoctorReport:
    """Check ``home``; with ``reindex``, first rebuild the session index from the files."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    store = SessionStore(spec_home)
    report = DoctorReport(home=str(spec_home.root))
    if reindex:  # the repair: journal, then index from the files, then git -> records
        with HomeLock(spec_home.learning_dir, "specdistill doctor --reindex"):
            report.repaired = repair_if_needed(spec_home)
            report.reindexed, report.skipped = store.reindex()
            report.repaired += [_say(f) for f in check(spec_home, repair=True)]
            for marker in stale_markers(spec_home):
                marker.unlink(missing_ok=True)
    report.checks = [
        _check_config(spec_home),
        _check_repository(spec_home),
        _check_index(store),
        *_check_sessions(store),
        _check_lock(spec_home),
        _check_journal(spec_home),
        _check_records(spec_home),
    ]
    return report
