"""``specdistill quickstart`` and ``specdistill run`` through the command line: what is
printed agrees with session.json, the run is the same every time, a rollback restores
the example's starting bytes, and a real subprocess finishes well under a minute."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import SPECDISTILL, isolate_git
from run_helpers import EXPECTED, commit_trailers, example_home, example_spec_bytes, spec_bytes
from specdistill.cli import app
from specdistill.execute import GATE_STOPPED
from specdistill.models import LearningSession

runner = CliRunner()


def session_of(home: Path) -> LearningSession:
    [directory] = (home / "learning" / "sessions").iterdir()
    return LearningSession.model_validate_json((directory / "session.json").read_text())


def comparable(session: LearningSession) -> dict:
    """A session without what legitimately differs between two runs (ids, times, commits)."""
    data = json.loads(session.model_dump_json())
    for key in ("id", "started_at", "ended_at", "plan_path", "git_checkpoint_pre",
                "git_checkpoint_post"):  # fmt: skip
        data.pop(key)
    data["trigger_metadata"].pop("benchmark")  # an absolute path
    for snapshot in (data["benchmark_before"], data["benchmark_after"]):
        snapshot.pop("elapsed_seconds")
    for outcome in data["edit_outcomes"]:
        outcome.pop("applied_at")
    return data


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("qs")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, tmp)
        # wide enough for the tables (at 80 columns they are lists: tests/cli/test_output.py)
        result = runner.invoke(app, ["quickstart", "--home", str(tmp / "home")],
                               env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp / "home", result.output


def table_row(output: str, edit_id: str) -> list[str]:
    [line] = [line for line in output.splitlines() if line.startswith(f"│ {edit_id} ")]
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_the_printed_outcomes_are_those_in_session_json(quickstart: tuple[Path, str]) -> None:
    home, output = quickstart
    session = session_of(home)
    assert {o.edit_id: o.status for o in session.edit_outcomes} == EXPECTED
    for outcome in session.edit_outcomes:
        _, _, _, _, status, delta, _ = table_row(output, outcome.edit_id)
        assert status == outcome.status
        expected = "–" if outcome.benchmark_delta is None else f"{outcome.benchmark_delta:+.3f}"
        assert delta.split(" (n=")[0] == expected, outcome.edit_id  # "+0.583 (n=12)"
        if outcome.error:
            assert f"{outcome.edit_id}: {outcome.error}" in output.replace("\n", " ")
    before, after = session.benchmark_before, session.benchmark_after
    assert before is not None and after is not None
    for cluster, score in before.cluster_scores.items():
        cells = table_row(output, cluster)
        assert cells[1:3] == [f"{score:.3f}", f"{after.cluster_scores[cluster]:.3f}"]


def test_it_says_where_the_home_and_report_are_and_what_to_try(
    quickstart: tuple[Path, str],
) -> None:
    home, output = quickstart
    sid = session_of(home).id
    assert f"example spec home: {home}" in output
    report = home / "learning" / "sessions" / sid / "report.md"
    assert f"report: {report}" in output and report.is_file()
    for command in ("review", f"show {sid}", f"approve {sid}:e6-concise-prompt", f"rollback {sid}"):
        assert f"specdistill {command} --home {home}" in output


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["quickstart", str(target)])
    assert result.exit_code == 2
    assert "is not empty" in result.output
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_real_subprocess_is_fast_deterministic_and_rolls_back(
    quickstart: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "160"}
    started = time.monotonic()
    proc = subprocess.run(
        [SPECDISTILL, "quickstart"], capture_output=True, text=True, env=env, timeout=120
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 30, f"quickstart took {elapsed:.1f}s"
    match = re.search(r"example spec home: (\S+)", proc.stdout)
    assert match, proc.stdout
    home = Path(match.group(1))
    assert home.parent == tmp_path  # the default: a new temporary directory
    session = session_of(home)
    # The same outcomes, deltas, reasons, gate reports and scores as the other run.
    assert comparable(session) == comparable(session_of(quickstart[0]))

    rolled = subprocess.run(
        [SPECDISTILL, "rollback", session.id, "--home", str(home)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr
    assert "2 edit(s) reverted" in rolled.stdout
    assert spec_bytes(home) == example_spec_bytes()
    reverts = commit_trailers(home, "-2")
    assert sorted(t["Reverts-Edit-ID"] for t in reverts) == [
        "e1-calculator-exact",
        "e2-route-geo-big",
    ]


def test_ctrl_c_while_gating_undoes_the_edit_in_flight_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = example_home(tmp_path / "home")
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace(
            "specdistill.example.agent:answer", "run_helpers:interrupting_agent"
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "COLUMNS": "160",
           "SD_TEST_MARKER": str(tmp_path / "ctrl-c-sent")}  # fmt: skip
    proc = subprocess.run(
        [SPECDISTILL, "run", "--plan", str(home / "plan.json"), "--home", str(home),
         "--allow-dirty"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert (tmp_path / "ctrl-c-sent").exists()
    assert proc.returncode == 130, proc.stderr
    assert "Ctrl-C: finishing the edit in flight, then stopping" in proc.stderr
    assert "interrupted by SIGINT" in proc.stderr
    session = session_of(home)
    first, *rest = session.edit_outcomes
    assert (first.edit_id, first.status) == ("e1-calculator-exact", "skipped")
    assert first.error == GATE_STOPPED  # the gate stopped at its next batch; edit undone
    assert {o.status for o in rest} == {"skipped"}
    assert table_row(proc.stdout, "e1-calculator-exact")[4] == "skipped"
    assert "exactly" not in (home / "tools" / "descriptions.toml").read_text()


def test_run_json_prints_session_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = example_home(tmp_path / "home")
    plan = str(home / "plan.json")
    result = runner.invoke(
        app, ["run", "--plan", plan, "--home", str(home), "--mode", "manual", "--json"]
    )
    assert result.exit_code == 0, result.output
    session = session_of(home)
    assert json.loads(result.stdout) == json.loads(session.model_dump_json())
    assert {o.status for o in session.edit_outcomes} == {"pending_review"}


def test_run_prints_the_tables_and_how_to_undo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = example_home(tmp_path / "home")
    (home / "few.json").write_text(
        json.dumps({"edits": [e for e in json.loads((home / "plan.json").read_text())["edits"]
                              if e["id"] in ("e2-route-geo-big", "e3-warmer")]})
    )  # fmt: skip
    result = runner.invoke(app, ["run", "--plan", str(home / "few.json"), "--home", str(home)],
                           env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    session = session_of(home)
    assert table_row(result.output, "e2-route-geo-big")[4] == "applied"
    assert table_row(result.output, "e3-warmer")[4] == "rejected_by_gate"
    assert table_row(result.output, "capitals")[1:] == ["0.300", "1.000", "+0.700"]
    assert f"session {session.id}: completed" in result.output
    assert f"specdistill rollback {session.id} --home {home}" in result.output


def test_run_refuses_a_directory_that_is_not_a_spec_home(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"edits": []}')
    result = runner.invoke(app, ["run", "--plan", str(plan), "--home", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "is not a spec home" in result.output
    assert not (tmp_path / "nope").exists()
