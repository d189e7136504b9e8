"""``run_session``: a whole session on the example home, with real git, SQLite, files and
the bundled agent as the student. What the gate kept is committed, what it rejected is
byte-identical, what needs a person is queued, and session.json says exactly that."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git
from run_helpers import EXPECTED, commit_trailers, example_home, git_out, plan_of, spec_bytes
from specdistill import (
    AutonomyMode,
    LearningSession,
    SessionStatus,
    checkpointed_run,
)
from specdistill.evaluation import BenchmarkError, EvaluationConfigError, NothingScored
from specdistill.execute import GATE_STOPPED, INTERRUPTED_REASON
from specdistill.plan import load_plan
from specdistill.sessions.run import (
    SessionEvaluation,
    advance,
    execute_phase,
    interrupted_by,
    run_session,
    start_session,
)
from specdistill.sessions.store import SessionStore


@dataclass
class Ran:
    home: Path
    session: LearningSession
    before: dict[str, bytes]
    head_before: str


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    """The example plan run once in tiered mode through the sequential gate."""
    tmp = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, tmp)
        home = example_home(tmp / "home")
        before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
        session = run_session(home, load_plan(home / "plan.json"), mode="tiered")
        yield Ran(home, session, before, head)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git(monkeypatch, tmp_path)
    return example_home(tmp_path / "home")


def test_each_edit_gets_the_outcome_its_effect_deserves(ran: Ran) -> None:
    outcomes = {o.edit_id: o for o in ran.session.edit_outcomes}
    assert {k: o.status for k, o in outcomes.items()} == EXPECTED
    assert ran.session.status is SessionStatus.AWAITING_REVIEW
    # The gate stops sampling once the gain is proven: 7 wins and 5 ties on 12 target tasks.
    assert outcomes["e1-calculator-exact"].benchmark_delta == pytest.approx(7 / 12)
    assert outcomes["e3-warmer"].error and "lost more than eps" in outcomes["e3-warmer"].error
    # A change that moves no target task is rejected once a 0.10 gain is ruled out.
    assert "futility" in (outcomes["e5-more-turns"].error or "")
    assert outcomes["e8-lora"].error == "manual tier, requires explicit approval"
    before, after = ran.session.benchmark_before, ran.session.benchmark_after
    assert before is not None and after is not None
    assert before.cluster_scores == {
        "arithmetic": 0.25, "capitals": 0.3, "units": 1.0, "formatting": 0.0,
    }  # fmt: skip
    assert after.cluster_scores == {
        "arithmetic": 1.0, "capitals": 1.0, "units": 1.0, "formatting": 0.0,
    }  # fmt: skip


def test_rejected_and_queued_edits_leave_their_bytes_as_they_were(ran: Ran) -> None:
    now, was = spec_bytes(ran.home), ran.before
    assert now.keys() == was.keys()
    # Only the two accepted edits changed anything, and only their own lines.
    assert now["config.toml"] == was["config.toml"].replace(
        b'geo = "small-model"', b'geo = "big-model"'
    )
    assert b"temperature = 0.2 " in now["config.toml"] and b"max_turns = 4" in now["config.toml"]
    assert b"exactly" in now["tools/descriptions.toml"]
    for name in ("agents/assistant/system_prompt.md", "agents/assistant/few_shot.json"):
        assert now[name] == was[name], name


def test_kept_edits_are_commits_carrying_the_session(ran: Ran) -> None:
    sid = ran.session.id
    commits = commit_trailers(ran.home, f"{ran.head_before}..HEAD")
    pairs = sorted((t["Edit-ID"], t["Session-ID"], t["Risk-Tier"]) for t in commits)
    assert pairs == [("e1-calculator-exact", sid, "auto"), ("e2-route-geo-big", sid, "auto")]
    assert ran.session.git_checkpoint_pre == ran.head_before
    assert ran.session.git_checkpoint_post == git_out(ran.home, "rev-parse", "HEAD")


def test_the_session_files_and_the_index_agree(ran: Ran) -> None:
    store = SessionStore(ran.home)
    directory = store.session_dir(ran.session.id)
    assert store.load(ran.session.id) == ran.session
    plan_file = directory / "plan.json"
    assert not plan_file.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    frozen = json.loads(plan_file.read_text())
    assert frozen["session_id"] == ran.session.id
    assert [e["id"] for e in frozen["edits"]] == list(EXPECTED)
    [row] = store.list()
    assert (row.id, row.status, row.n_edits, row.n_applied, row.n_pending) == (
        ran.session.id, "awaiting_review", 8, 2, 2,
    )  # fmt: skip
    assert (directory / "report.md").is_file() and (directory / "report.html").is_file()
    assert ran.session.trigger_metadata["gate"] == "sequential"


def test_a_plan_of_only_harmful_edits_changes_nothing(home: Path) -> None:
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    plan = plan_of(home, "e3-warmer", "e4-drop-calculator")
    session = run_session(home, plan, mode=AutonomyMode.AUTO)
    assert [o.status for o in session.edit_outcomes] == ["rejected_by_gate"] * 2
    assert session.status is SessionStatus.COMPLETED
    assert spec_bytes(home) == before
    assert git_out(home, "rev-parse", "HEAD") == head == session.git_checkpoint_post


def test_without_the_gate_a_harmful_edit_stays_and_the_score_drops(home: Path) -> None:
    session = run_session(home, plan_of(home, "e3-warmer"), mode="auto", gate_mode="off")
    [outcome] = session.edit_outcomes
    assert outcome.status == "applied" and outcome.gate_report is None
    assert session.benchmark_before and session.benchmark_after
    assert session.benchmark_after.overall_score < session.benchmark_before.overall_score
    assert b"temperature = 1.5" in (home / "config.toml").read_bytes()


def test_manual_mode_queues_every_edit(home: Path) -> None:
    before = spec_bytes(home)
    session = run_session(home, load_plan(home / "plan.json"), mode="manual")
    assert {o.status for o in session.edit_outcomes} == {"pending_review"}
    assert session.status is SessionStatus.AWAITING_REVIEW
    assert spec_bytes(home) == before


@pytest.mark.parametrize(
    ("config_line", "error"),
    [
        ('[specdistill.student]\nkind = "python"\nfunction = "no:such"\n', EvaluationConfigError),
        ('[specdistill.benchmark]\npath = "missing.jsonl"\n', BenchmarkError),
    ],
    ids=["unknown-student", "missing-benchmark"],
)  # fmt: skip
def test_a_bad_config_is_refused_before_anything_is_written(
    home: Path, config_line: str, error: type[Exception]
) -> None:
    config = home / "config.toml"
    text = config.read_text()
    section = config_line.split("\n", 1)[0]
    start = text.index(section)
    end = text.find("\n[", start + 1)
    config.write_text(text[:start] + config_line + (text[end:] if end != -1 else ""))
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    with pytest.raises(error):  # even --allow-dirty's "manual changes" commit is not made
        run_session(home, load_plan(home / "plan.json"), allow_dirty=True)
    assert not (home / "learning" / "sessions").exists()
    assert spec_bytes(home) == before and git_out(home, "rev-parse", "HEAD") == head


def broken_student(task: dict, spec_home: str) -> str:
    raise RuntimeError("the model server is down")


def test_a_failure_after_the_start_is_recorded_and_raised(home: Path) -> None:
    config = home / "config.toml"
    config.write_text(
        config.read_text().replace(
            "specdistill.example.agent:answer", "sessions.test_run:broken_student"
        )
    )
    with pytest.raises(NothingScored, match="the model server is down"):
        run_session(home, load_plan(home / "plan.json"), allow_dirty=True)
    store = SessionStore(home)
    [row] = store.list()
    session = store.load(row.id)
    assert session.status is SessionStatus.FAILED and session.ended_at is not None
    assert "no task was scored" in (session.error or "")
    assert session.edit_outcomes == []
    assert (store.session_dir(row.id) / "report.md").is_file()


def test_an_existing_session_id_is_refused(home: Path) -> None:
    plan = plan_of(home, "e8-lora")
    run_session(home, plan, session_id="s-1")
    with pytest.raises(ValueError, match="already exists"):
        run_session(home, plan, session_id="s-1")


def test_ctrl_c_while_gating_undoes_the_edit_in_flight_and_skips_the_rest(home: Path) -> None:
    sent: list[str] = []

    def progress(label: str, done: int, total: int) -> None:
        # while gating, the label is the edit's live line: "edit 1/8 e1-…: target 1↑ …"
        if label.startswith("edit ") and done and not sent:
            sent.append(label)
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, deferred by the run

    session = run_session(home, load_plan(home / "plan.json"), progress=progress)
    assert len(sent) == 1 and sent[0].startswith("edit 1/8 e1-calculator-exact: ")
    first, *rest = session.edit_outcomes
    assert (first.status, first.error) == ("skipped", GATE_STOPPED)  # the gate stopped early
    assert {(o.status, o.error) for o in rest} == {("skipped", INTERRUPTED_REASON)}
    assert interrupted_by(session) == signal.SIGINT
    assert session.benchmark_after is None and session.status is SessionStatus.COMPLETED
    assert "exactly" not in (home / "tools/descriptions.toml").read_text()  # undone


def test_a_teacher_slots_its_phases_in_front_of_execute(home: Path) -> None:
    store = SessionStore(home)
    evaluation = SessionEvaluation.from_config(store.home)
    try:
        with checkpointed_run(home, command="learn", session_id="taught") as run:
            session = start_session(store, None, mode="tiered", session_id="taught")
            assert store.load("taught").status is SessionStatus.INITIATED
            session = advance(store, session, SessionStatus.DIAGNOSING)
            session = advance(store, session, SessionStatus.PLANNING)
            assert store.load("taught").status is SessionStatus.PLANNING
            plan = plan_of(home, "e2-route-geo-big")
            session = execute_phase(store, session, plan, run=run, evaluation=evaluation)
    finally:
        evaluation.close()
    assert session.status is SessionStatus.COMPLETED
    assert [o.status for o in session.edit_outcomes] == ["applied"]
    assert store.load_plan("taught").edits == plan.edits
    assert store.load("taught") == session
