"""Corrupt state and hostile text, as tables, through the real CLI on a quickstart home.

Each corrupt state gives a one-line ``error:`` (with its ``hint:``) or a safe repair, never
a traceback; no commit lands before a command fails; nothing is written outside the home;
``doctor`` says the truth. Each hostile text reaches the terminal inert (its control
characters shown escaped). Also the pure check of :mod:`specdistill.sessions.consistency`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from checkpoint_helpers import child_env, git, isolate_git, run_cli
from specdistill import commands
from specdistill.sessions.consistency import check

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\r"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("qs")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, root)
        commands.quickstart(root / "home")
    return root / "home"


@pytest.fixture
def home(quickstart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git(monkeypatch, tmp_path)
    return Path(shutil.copytree(quickstart, tmp_path / "home", symlinks=True))


def _sid(home: Path) -> str:
    return next(p.name for p in (home / "learning" / "sessions").iterdir())


def _plan(tmp: Path) -> Path:
    edit = {
        "id": "p1",
        "op": "set_agent_param",
        "pillar": "agent",
        "target": "agents.assistant",
        "payload": {"agent": "assistant", "param": "max_turns", "value": 7},
        "rationale": "r",
        "expected_improvement": "arithmetic",
    }
    path = tmp / "plan.json"
    path.write_text(json.dumps({"edits": [edit]}))
    return path


# -- corrupt state -----------------------------------------------------------------------------


def _cache_text_score(home: Path, outside: Path) -> None:
    db = sqlite3.connect(home / "learning" / "cache.db")
    with db:
        db.execute("UPDATE results SET score = 'not a number'")
    db.close()


def _intent(raw: str) -> Callable[[Path, Path], None]:
    def corrupt(home: Path, outside: Path) -> None:
        (home / "learning" / "journal").mkdir(exist_ok=True)
        (home / "learning" / "journal" / "intent.json").write_text(raw)

    return corrupt


FOREIGN_FILE_INTENT = json.dumps(
    {
        "version": 1,
        "kind": "edit",
        "label": "x",
        "head": None,
        "marker": {"edit_id": "x", "session_id": "s"},
        "files": [{"path": "benchmark.jsonl", "before": "", "mode": None, "after": None}],
    }
)


def _lock(raw: str) -> Callable[[Path, Path], None]:
    def corrupt(home: Path, outside: Path) -> None:
        (home / "learning" / "lock").write_text(raw)

    return corrupt


def _link_out(name: str) -> Callable[[Path, Path], None]:
    def corrupt(home: Path, outside: Path) -> None:
        target = home / "learning" / name
        if target.is_dir():
            shutil.copytree(target, outside / name)
            shutil.rmtree(target)
        elif target.exists():
            shutil.copy2(target, outside / name)
            target.unlink()
        else:
            (outside / name).mkdir()
        target.symlink_to(outside / name)

    return corrupt


def _index(data: bytes | None, sql: str | None = None) -> Callable[[Path, Path], None]:
    def corrupt(home: Path, outside: Path) -> None:
        path = home / "learning" / "learning.db"
        path.unlink()
        if data is not None:
            path.write_bytes(data)
        if sql is not None:
            db = sqlite3.connect(path)
            db.executescript(sql)
            db.close()

    return corrupt


def _journal_is_a_file(home: Path, outside: Path) -> None:
    shutil.rmtree(home / "learning" / "journal", ignore_errors=True)
    (home / "learning" / "journal").write_text("not a directory")


FOREIGN_SCHEMA = "CREATE TABLE sessions (x TEXT); CREATE TABLE edit_outcomes (y TEXT);"

#: (id, corruption, command (with {sid} / {plan}), expected exit, words in the error line)
CORRUPT = [
    ("cache-text-score", _cache_text_score, "bench run", 1, "result cache"),
    ("intent-list-recover", _intent("[1]"), "recover", 1, "journal"),
    ("intent-list-apply", _intent("[1]"), "apply {plan} --mode auto", 1, "journal"),
    ("intent-foreign-file", _intent(FOREIGN_FILE_INTENT), "recover", 1, "not a spec file"),
    ("lock-huge-pid", _lock(json.dumps({"pid": 10**30, "host": "h", "started_at": "t"})),
     "apply {plan} --mode auto", 1, "unreadable lock"),
    ("lock-garbage", _lock("garbage"), "rollback {sid}", 1, "unreadable lock"),
    ("sessions-link-out", _link_out("sessions"), "history", 2, "outside the spec home"),
    ("journal-link-out", _link_out("journal"), "apply {plan} --mode auto", 2,
     "outside the spec home"),
    ("cache-link-out", _link_out("cache.db"), "bench run", 2, "outside the spec home"),
    ("index-garbage-rollback", _index(b"garbage" * 100), "rollback {sid}", 1, "session index"),
    ("index-garbage-approve", _index(b"garbage" * 100), "approve {sid}:e6-concise-prompt", 1,
     "session index"),
    ("index-foreign-rollback", _index(None, FOREIGN_SCHEMA), "rollback {sid}", 1,
     "foreign columns"),
    ("journal-unwritable-run", _journal_is_a_file, "run --plan {plan} --mode auto --gate off", 1,
     "journal"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("corrupt", "command", "code", "words"),
    [c[1:] for c in CORRUPT],
    ids=[c[0] for c in CORRUPT],
)
def test_corrupt_state_is_one_line_and_commits_nothing(
    home: Path,
    tmp_path: Path,
    corrupt: Callable[[Path, Path], None],
    command: str,
    code: int,
    words: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sid, plan = _sid(home), _plan(tmp_path)
    corrupt(home, outside)
    head = git(home, "rev-parse", "HEAD")
    before_outside = sorted(str(p) for p in outside.rglob("*"))
    bench = (home / "benchmark.jsonl").read_bytes()
    args = command.format(sid=sid, plan=plan).split()
    result = run_cli(*args, "--home", str(home))
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error:") and words in lines[0], result.stderr
    assert all(line.startswith(("error:", "hint:")) for line in lines), result.stderr
    assert git(home, "rev-parse", "HEAD") == head  # no commit before the failure
    assert sorted(str(p) for p in outside.rglob("*")) == before_outside
    assert (home / "benchmark.jsonl").read_bytes() == bench
    doctor = run_cli("doctor", "--home", str(home))
    assert "Traceback" not in doctor.stderr


@pytest.mark.parametrize(
    ("lock", "level"),
    [("garbage", "error"), (json.dumps({"pid": 10**30, "host": "h", "started_at": "t"}), "error")],
    ids=["garbage", "huge-pid"],
)
def test_doctor_says_the_truth_about_an_unreadable_lock(home: Path, lock: str, level: str) -> None:
    (home / "learning" / "lock").write_text(lock)
    report = commands.doctor(home)
    [found] = [c for c in report.checks if c.name == "lock"]
    assert found.level == level and "refuses" in found.detail and "replaced" not in found.detail


def test_plan_files_that_never_end_are_refused_at_once(home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        result = run_cli("apply", str(path), "--home", str(home))  # 60 s timeout
        assert result.returncode == 2 and "not a regular file" in result.stderr


# -- records that disagree, and their repair ----------------------------------------------------


def test_check_finds_each_disagreement_and_repair_makes_them_agree(home: Path) -> None:
    sid = _sid(home)
    assert check(home) == []
    record = home / "learning" / "sessions" / sid / "session.json"
    data = json.loads(record.read_text())
    applied = next(o for o in data["edit_outcomes"] if o["status"] == "applied")
    applied["status"] = "pending_review"  # git has its commit: the record lies
    record.write_text(json.dumps(data))
    found = check(home)
    assert any(applied["edit_id"] in f.detail and "committed" in f.detail for f in found)
    assert not commands.doctor(home).ok
    repaired = check(home, repair=True)
    assert repaired and all(f.repaired for f in repaired)
    assert check(home) == [] and commands.doctor(home).ok


def test_a_reader_repairs_an_interrupted_rollback_first(home: Path) -> None:
    sid = _sid(home)
    env = child_env({"SPECDISTILL_FAULT_POINT": "rollback:after-commit"})
    killed = run_cli("rollback", sid, "--home", str(home), env=env)
    assert killed.returncode == -9
    history = commands.history(home)
    assert history.sessions[0].status.value == "rolled_back"
    assert commands.review(home) == []
    assert commands.doctor(home).ok


# -- hostile text --------------------------------------------------------------------------------


def _hostile_session(home: Path) -> str:
    """Put terminal escapes into what show/review/review show print: an outcome's reason,
    a queued edit's rationale and a cluster name (the files are untrusted input too)."""
    sid = _sid(home)
    directory = home / "learning" / "sessions" / sid
    data = json.loads((directory / "session.json").read_text())
    data["edit_outcomes"][0]["error"] = f"reason {HOSTILE}"
    scores = data["benchmark_before"]["cluster_scores"]
    scores[f"cluster{HOSTILE}"] = 0.5
    (directory / "session.json").write_text(json.dumps(data))
    plan_path = directory / "plan.json"
    plan_path.chmod(0o644)
    plan = json.loads(plan_path.read_text())
    for edit in plan["edits"]:
        edit["rationale"] = f"because {HOSTILE}"
    plan_path.write_text(json.dumps(plan))
    commands.doctor(home, reindex=True)
    return sid


@pytest.mark.parametrize(
    "command",
    ["show {sid}", "review", "review show {sid}:e6-concise-prompt", "history"],
)
def test_hostile_text_reaches_the_terminal_inert(home: Path, command: str) -> None:
    sid = _hostile_session(home)
    result = run_cli(*command.format(sid=sid).split(), "--home", str(home))
    assert result.returncode == 0, result.stderr
    for raw in ("\x1b", "\x07", "\r"):
        assert raw not in result.stdout + result.stderr
    if command.startswith(("show", "review show")):
        assert "\\x1b]0;pwned\\x07" in result.stdout  # shown, escaped


# -- a full disk under learning/sessions -----------------------------------------------------------

#: Child code: the real CLI with every atomic write of ``$SD_FAIL_NAME`` in a session folder
#: failing with ENOSPC after ``$SD_FAIL_AFTER`` successful ones. fsio is patched before any
#: module that imports its write function is loaded, so the fault sits at the real write call.
FULL_DISK_CLI = """
import errno, os, sys
from pathlib import Path
import specdistill.fsio as fsio
real, seen = fsio.atomic_write_bytes, [0]
def full(path, data, *, mode=None):
    path = Path(path)
    if path.parent.parent.name == "sessions" and path.name == os.environ["SD_FAIL_NAME"]:
        seen[0] += 1
        if seen[0] > int(os.environ["SD_FAIL_AFTER"]):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return real(path, data, mode=mode)
fsio.atomic_write_bytes = full
from specdistill.cli import main
sys.argv = ["specdistill", *sys.argv[1:]]
main()
"""

APPROVE = "approve {sid}:e6-concise-prompt"
REJECT = "reject {sid}:e6-concise-prompt --reason no"
FULL_DISK = [
    ("run", "plan.json", 0), ("run", "session.json", 0), ("run", "session.json", 2),
    ("run", "routing.json", 0), ("run", "evidence.json", 0), ("run", "report.md", 0),
    ("run", "report.html", 0),
    (APPROVE, "session.json", 0), (APPROVE, "evidence.json", 0), (APPROVE, "report.md", 0),
    (REJECT, "session.json", 0), (REJECT, "report.html", 0),
    ("rollback {sid}", "session.json", 0), ("rollback {sid}", "report.md", 0),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "name", "after"),
    FULL_DISK,
    ids=[f"{c.split()[0]}-{n}-{a}" for c, n, a in FULL_DISK],
)
def test_a_full_disk_under_sessions_fails_the_command_in_one_line(
    home: Path, tmp_path: Path, command: str, name: str, after: int
) -> None:
    """A record that cannot be written fails the command (exit 1, one error line, no
    traceback, no ``report:`` claim), and the records agree with git after the next command."""
    sid, plan = _sid(home), _plan(tmp_path)
    if command == "run":
        command = "run --plan {plan} --mode auto"
    before = set((home / "learning" / "sessions").iterdir())
    args = command.format(sid=sid, plan=plan).split()
    env = child_env({"SD_FAIL_NAME": name, "SD_FAIL_AFTER": str(after)})
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CLI, *args, "--home", str(home)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "report:" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: could not record session") and name in lines[0]
    assert "No space left on device" in lines[0] and lines[1].startswith("hint:")
    [session_dir] = (set((home / "learning" / "sessions").iterdir()) - before) or [
        home / "learning" / "sessions" / sid
    ]
    if name.startswith("report."):  # no stale report describes a state the session left
        assert not (session_dir / "report.md").exists()
        assert not (session_dir / "report.html").exists()
    seen = run_cli("doctor", "--home", str(home))  # reads only: says what is left to repair
    assert seen.returncode in (0, 1) and "Traceback" not in seen.stderr
    assert seen.returncode == 0 or "specdistill recover" in seen.stdout
    recovered = run_cli("recover", "--home", str(home))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    doctor = run_cli("doctor", "--home", str(home))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "warn" not in doctor.stdout and check(home) == []
    assert git(home, "status", "--porcelain", "--untracked-files=no") == ""
    assert all((d / "session.json").is_file() for d in (home / "learning" / "sessions").iterdir())
