"""The single-writer lock: contention from a second real process, stale takeover
(including two processes racing for the same stale lock), release on errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from checkpoint_helpers import (
    REPO_ROOT,
    child_env,
    plan,
    run_cli,
    temperature,
    write_plan,
)
from specdistill.apply import apply_plan
from specdistill.checkpoint import HomeLock, LockInfo, checkpointed_run
from specdistill.checkpoint.lock import read_lock
from specdistill.errors import LockHeld


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(home: Path, **fields) -> Path:
    info = {
        "pid": _dead_pid(),
        "host": socket.gethostname(),
        "started_at": "2020-01-01T00:00:00+00:00",
        "command": "specdistill apply",
        "nonce": "stale",
        **fields,
    }
    path = home / "learning" / "lock"
    path.write_text(json.dumps(info))
    return path


HOLDER = textwrap.dedent(
    """
    import sys, time
    from specdistill.checkpoint import checkpointed_run
    with checkpointed_run(sys.argv[1], command="apply", session_id="holder", notify=None):
        print("locked", flush=True)
        sys.stdin.readline()   # hold the lock until the test says so
    """
)


@pytest.mark.slow
def test_a_second_process_fails_at_once_naming_the_holder(home: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=REPO_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        plan_file = write_plan(tmp_path / "plan.json", plan(temperature(0.0)))
        started = time.monotonic()
        result = run_cli("apply", str(plan_file), "--home", str(home))
        assert time.monotonic() - started < 10  # fails at once, does not wait
        assert result.returncode == 1
        assert f"locked by pid {holder.pid} on {socket.gethostname()}" in result.stderr
        assert "specdistill apply" in result.stderr
        # in-process too: LockHeld carries the holder
        with pytest.raises(LockHeld) as caught:
            HomeLock(home / "learning", "test").acquire()
        assert f"pid {holder.pid}" in caught.value.holder
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert read_lock(home / "learning") is None  # released on exit
    assert apply_plan(plan(temperature(0.0)), home, checkpoint=True).commits


def test_a_stale_lock_of_a_dead_process_is_taken_over(home: Path) -> None:
    _write_lock(home)
    report = apply_plan(plan(temperature(0.0)), home, checkpoint=True)
    assert report.commits
    assert any(note.startswith("took over a stale lock of pid") for note in report.notes)
    assert read_lock(home / "learning") is None


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"pid": os.getppid(), "host": "another-host"}, id="other-host"),
        pytest.param({"pid": os.getppid()}, id="live-pid"),
    ],
)
def test_a_live_or_remote_holder_is_never_taken_over(home: Path, fields: dict) -> None:
    path = _write_lock(home, **fields)
    before = path.read_bytes()
    with pytest.raises(LockHeld, match=f"pid {fields['pid']}"):
        apply_plan(plan(temperature(0.0)), home, checkpoint=True)
    assert path.read_bytes() == before


def test_a_reused_pid_is_recognised_as_stale(home: Path) -> None:
    # our parent is alive, but it is not the process that took the lock: its start differs
    _write_lock(home, pid=os.getppid(), proc_start="1")
    assert LockInfo.parse((home / "learning" / "lock").read_bytes()).is_stale()
    assert apply_plan(plan(temperature(0.0)), home, checkpoint=True).commits


def test_a_zombie_holder_is_dead(home: Path) -> None:
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        _write_lock(home, pid=zombie.pid)
        assert apply_plan(plan(temperature(0.0)), home, checkpoint=True).commits
    finally:
        zombie.wait()


def test_the_lock_is_released_when_the_run_raises(home: Path) -> None:
    with pytest.raises(RuntimeError), checkpointed_run(home, command="test", notify=None):
        assert read_lock(home / "learning") is not None
        raise RuntimeError("boom")
    assert read_lock(home / "learning") is None


def test_an_unreadable_lock_is_not_guessed_at(home: Path) -> None:
    (home / "learning" / "lock").write_text("garbage")
    with pytest.raises(LockHeld, match="unreadable"):
        HomeLock(home / "learning", "test").acquire()


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from specdistill.checkpoint import HomeLock
    from specdistill.errors import LockHeld
    learning, go, ready = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    try:
        with HomeLock(learning, "racer") as lock:
            print("won" if lock.took_over else "won-fresh", flush=True)
            time.sleep(1.0)   # hold it while the others try
    except LockHeld:
        print("lost", flush=True)
    """
)


@pytest.mark.slow
def test_racing_takeovers_of_one_stale_lock_leave_one_winner(home: Path, tmp_path: Path) -> None:
    rounds, racers = 2, 4
    for round_ in range(rounds):
        _write_lock(home)
        go = tmp_path / f"go-{round_}"
        ready = [tmp_path / f"ready-{round_}-{i}" for i in range(racers)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(home / "learning"), str(go), str(flag)],
                stdout=subprocess.PIPE,
                text=True,
                env=child_env(),
                cwd=REPO_ROOT,
            )
            for flag in ready
        ]
        deadline = time.monotonic() + 30
        while not all(flag.exists() for flag in ready):  # every racer at the line
            assert time.monotonic() < deadline
            time.sleep(0.01)
        go.touch()
        results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
        # one winner: the taker-over, or one that published just after it removed the lock
        assert sum(r.startswith("won") for r in results) == 1, results
        assert results.count("lost") == racers - 1, results
        assert read_lock(home / "learning") is None


def test_a_deferred_sigterm_lets_the_holder_finish_and_release(home: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=REPO_ROOT,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGTERM)  # deferred: the run goes on until stdin closes
    holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert read_lock(home / "learning") is None
