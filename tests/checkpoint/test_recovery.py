"""Recovery after a crash, stale git locks, and Ctrl-C during a run (real processes)."""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

import pytest

from checkpoint_helpers import (
    DIRECT_APPLIER,
    TWO_FILE_APPLIER,
    apply_in_child_code,
    child_env,
    commit_count,
    describe_calculator,
    git,
    head,
    max_turns,
    plan,
    run_cli,
    run_python,
    spec_bytes,
    status,
    temperature,
    two_file_edit,
    write_plan,
)
from specdistill.apply import apply_plan
from specdistill.checkpoint import CheckpointStore, DeferredSignals, recover_home
from specdistill.errors import CheckpointError

INTENT = Path("learning") / "journal" / "intent.json"


def _killed_at(home: Path, tmp_path: Path, point: str, *edits) -> None:
    plan_file = write_plan(tmp_path / "plan.json", plan(*edits, session_id="s-crash"))
    env = child_env({"SPECDISTILL_FAULT_POINT": point})
    child = run_python(apply_in_child_code(home, plan_file), env=env)
    assert child.returncode == -signal.SIGKILL, child.stderr


def test_an_edit_killed_between_its_two_files_is_undone(home: Path, tmp_path: Path) -> None:
    before, before_head = spec_bytes(home), head(home)
    _killed_at(home, tmp_path, "edit:between-files", two_file_edit("react", id="two"))
    assert (home / INTENT).exists()
    assert spec_bytes(home) != before  # config.toml written, the prompt not yet

    result = run_cli("recover", "--home", str(home))
    assert result.returncode == 0, result.stderr
    assert "recovered: edit 'two' (session s-crash) was interrupted" in result.stdout
    assert result.stdout.rstrip().endswith("was interrupted; restored config.toml")
    assert spec_bytes(home) == before and head(home) == before_head
    assert status(home) == "" and not (home / INTENT).exists()
    assert "nothing to recover" in run_cli("recover", "--home", str(home)).stdout


def test_the_next_apply_recovers_first_then_proceeds(home: Path, tmp_path: Path) -> None:
    _killed_at(home, tmp_path, "edit:after-write", temperature(0.0, id="t"))
    report = apply_plan(plan(max_turns(3, id="m")), home, checkpoint=True)
    assert any("'t' (session s-crash) was interrupted" in n for n in report.notes)
    assert list(report.commits) == ["m"]
    assert "temperature = 0.2" in (home / "config.toml").read_text()


def test_a_kill_after_the_commit_keeps_the_edit(home: Path, tmp_path: Path) -> None:
    _killed_at(home, tmp_path, "edit:after-commit", temperature(0.0, id="t"))
    # the commit landed; the real index still has the old blob
    assert git(home, "diff", "--cached", "--name-only").strip() == "config.toml"
    notes = recover_home(home)
    assert notes[0].startswith("took over a stale lock of pid")  # the killed run's
    assert notes[1:] == [
        f"recovered: edit 't' (session s-crash) had reached its commit {head(home)[:10]}; "
        "finished it"
    ]
    assert status(home) == "" and "temperature = 0.0" in (home / "config.toml").read_text()


def test_a_stale_index_lock_is_removed_only_after_our_own_crash(home: Path, tmp_path: Path) -> None:
    lock = home / ".git" / "index.lock"
    lock.write_bytes(b"")  # no crash of ours: someone else's git may be writing
    before = spec_bytes(home)
    with pytest.raises(CheckpointError, match=r"index\.lock exists"):
        apply_plan(plan(temperature(0.0)), home, checkpoint=True)
    assert lock.exists() and spec_bytes(home) == before
    lock.unlink()

    _killed_at(home, tmp_path, "edit:after-commit", temperature(0.0, id="t"))
    lock.write_bytes(b"")  # as if the killed run's git had died mid-write
    notes = recover_home(home)
    assert "recovered: removed index.lock left by a git killed mid-write" in notes
    assert not lock.exists() and status(home) == ""


def test_a_file_changed_after_the_crash_is_kept_aside(home: Path, tmp_path: Path) -> None:
    _killed_at(home, tmp_path, "edit:after-write", describe_calculator("x", id="d"))
    target = home / "tools" / "descriptions.toml"
    target.write_text("# my own edit after the crash\n")
    notes = recover_home(home)
    saved = [n for n in notes if "kept a copy" in n]
    assert len(saved) == 1
    copy = Path(saved[0].rsplit(" at ", 1)[1])
    assert copy.read_text() == "# my own edit after the crash\n"
    assert status(home) == ""


def test_a_plug_in_edit_killed_before_its_commit_is_undone(home: Path, tmp_path: Path) -> None:
    before = spec_bytes(home)
    plan_file = write_plan(tmp_path / "plan.json", plan(two_file_edit("x", id="plug")))
    env = child_env({"SPECDISTILL_FAULT_POINT": "edit:after-write"})
    child = run_python(apply_in_child_code(home, plan_file, applier=DIRECT_APPLIER), env=env)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert (home / "agents/assistant/notes.md").exists()
    notes = recover_home(home)
    assert spec_bytes(home) == before and status(home) == ""
    kept = [n for n in notes if "notes.md" in n and "kept a copy" in n]
    assert kept, notes  # the plug-in's new file is moved aside, not deleted


def test_an_unreadable_journal_is_reported_not_guessed(home: Path) -> None:
    (home / INTENT).parent.mkdir(parents=True, exist_ok=True)
    (home / INTENT).write_text("{not json")
    with pytest.raises(CheckpointError, match=r"journal .* is unreadable"):
        recover_home(home)


INTERRUPTING_CLI = TWO_FILE_APPLIER + textwrap.dedent(
    """
    import specdistill.changeset as changeset
    import specdistill.appliers.registry as reg_module

    builtins = reg_module.builtin_appliers
    reg_module.builtin_appliers = lambda: [
        TwoFileApplier() if a.op == EditOp.SET_AGENT_CLASS else a for a in builtins()
    ]
    real_write = changeset.write_change
    written = []
    cli_args = sys.argv[2:]
    home = Path(cli_args[cli_args.index("--home") + 1]).resolve()

    def write_change(change):          # a signal arrives between the two files
        real_write(change)
        if home not in Path(change.path).resolve().parents:
            return                     # the plan screen's scratch copy, not the home
        written.append(change)
        if len(written) == 2:
            os.kill(os.getpid(), getattr(signal, sys.argv[1]))

    changeset.write_change = write_change
    sys.argv = ["specdistill", "apply", *sys.argv[2:]]
    from specdistill.cli import main
    main()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_finishes_the_edit_in_flight_then_stops(
    home: Path, tmp_path: Path, sig: str
) -> None:
    edits = [
        temperature(0.0, id="first"),
        two_file_edit("react", id="in-flight"),
        max_turns(3, id="never-1"),
        describe_calculator("never", id="never-2"),
    ]
    plan_file = write_plan(tmp_path / "plan.json", plan(*edits, session_id="s-int"))
    before = commit_count(home)
    code = INTERRUPTING_CLI.replace("sys.argv[1]", repr(sig)).replace("sys.argv[2:]", "ARGS")
    code = code.replace("ARGS", repr([str(plan_file), "--home", str(home), "--mode", "auto"]))
    child = run_python(code)
    assert child.returncode == 128 + getattr(signal, sig), child.stderr
    assert "finishing the edit in flight, then stopping" in child.stderr
    assert "interrupted: stopped after the edit in flight; 2 edit(s) not attempted" in child.stderr
    entries = CheckpointStore(home).log()
    assert [e.edit_id for e in entries if e.kind == "edit"] == ["in-flight", "first"]
    assert commit_count(home) == before + 2
    # the edit in flight is whole: both of its files are in its commit
    files = git(home, "show", "--format=", "--name-only", "HEAD").split()
    assert files == ["agents/assistant/system_prompt.md", "config.toml"]
    assert status(home) == "" and not (home / INTENT).exists()
    assert not (home / "learning" / "lock").exists()


def test_deferred_signals_record_and_restore() -> None:
    messages: list[str] = []
    previous = signal.getsignal(signal.SIGINT)
    with DeferredSignals(notify=messages.append) as signals:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C is still deferred
        assert signals.received == signal.SIGINT and signals.exit_code == 130
    assert messages == ["Ctrl-C: finishing the edit in flight, then stopping"]
    assert signal.getsignal(signal.SIGINT) is previous
