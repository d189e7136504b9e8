"""A session whose process is SIGKILLed mid-run: the next run restores the spec (journal)
and closes the orphaned session record as failed, saying so."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from checkpoint_helpers import SPECDISTILL, child_env, isolate_git
from run_helpers import example_home, plan_of, spec_bytes


@pytest.mark.slow
def test_a_killed_run_is_recovered_and_its_session_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = example_home(tmp_path / "home")
    before = spec_bytes(home)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan_of(home, "e1-calculator-exact").model_dump_json())
    args = [SPECDISTILL, "run", "--plan", str(plan_file), "--home", str(home)]
    killed = subprocess.run(
        args,
        env=child_env({"SPECDISTILL_FAULT_POINT": "edit:after-write"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL
    [orphan] = [p.name for p in (home / "learning/sessions").iterdir()]
    record = json.loads((home / "learning/sessions" / orphan / "session.json").read_text())
    assert record["status"] == "executing"  # what a dead process leaves behind

    again = subprocess.run(args, env=child_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "recovered: edit 'e1-calculator-exact'" in again.stderr + again.stdout
    assert f"recovered: session {orphan} had been interrupted" in again.stderr + again.stdout
    record = json.loads((home / "learning/sessions" / orphan / "session.json").read_text())
    assert record["status"] == "failed" and "interrupted" in record["error"]
    # the second run applied the edit for real, from the restored starting bytes
    assert spec_bytes(home) != before
    status = subprocess.run(
        ["git", "-C", str(home), "status", "--porcelain", "--", "config.toml", "agents", "tools"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""
