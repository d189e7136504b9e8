"""The whole loop, traces in and a better spec out: ``specdistill run`` (no plan), ``run
--rounds``, and ``loop``, with the teacher a scripted loopback server and the student the
example agent on the example home (its failure clusters are real: the student is run).

Real parts throughout: git commits, SQLite, files, HTTP on loopback. The teacher's
requests are read back from the server to prove what it was shown.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import isolate_git
from run_helpers import commit_trailers, git_out, spec_bytes
from specdistill.checkpoint import init_checkpoints
from specdistill.cli import app
from specdistill.example.quickstart import create_example_home
from specdistill.models import LearningPlan, LearningSession, SessionStatus
from specdistill.sessions.loop import run_loop
from specdistill.sessions.store import SessionStore
from specdistill.sessions.teach import teach_session
from specdistill.teacher import SharePolicy, TraceThresholds, build_sample, load_traces
from teacher_helpers import (
    CALC_EDIT,
    TEACHER_CONFIG,
    TRACES,
    Reply,
    TeacherServer,
    teacher_server,
)

runner = CliRunner()


ROUTE_EDIT = {
    "id": "e2-route-geo-big", "pillar": "intelligence", "op": "set_model_for_query_class",
    "target": "learning.routing.policy_map", "expected_improvement": "capitals",
    "payload": {"query_class": "geo", "model": "big-model"}, "rationale": "facts",
}  # fmt: skip


@pytest.fixture
def server() -> Iterator[TeacherServer]:
    with teacher_server() as running:
        yield running


def make_home(root: Path, server: TeacherServer, extra: str = "") -> Path:
    """The example home with the teacher configured and traces beside it, under git."""
    create_example_home(root)
    config = root / "config.toml"
    config.write_text(config.read_text() + TEACHER_CONFIG.format(url=server.base_url, extra=extra))
    (root / "traces.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    init_checkpoints(root)
    return root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: TeacherServer) -> Path:
    isolate_git(monkeypatch, tmp_path)
    return make_home(tmp_path / "home", server)


def aliases(home: Path) -> dict[str, str]:
    """trace id -> the alias the teacher sees it under (the library's own sampling)."""
    sample = build_sample(load_traces(home / "traces.jsonl"), SharePolicy(), TraceThresholds())
    return {trace_id: alias for alias, trace_id in sample.aliases.items()}


def diagnosis(home: Path, *clusters: str) -> dict[str, Any]:
    """A diagnosis citing real evidence for ``clusters``; default: the example's four."""
    a = aliases(home)
    evidence = {
        "arithmetic": [a["t-arith-1"], a["t-arith-2"]],
        "capitals": [a["t-geo-1"], a["t-geo-2"]],
        "units": [a["t-units-1"]],  # cited, but the student passes every units task
        "formatting": [],  # no evidence
        "weather": [a["t-geo-1"]],  # not a benchmark cluster
    }
    names = clusters or tuple(evidence)
    return {
        "summary": "precedence and missing facts",
        "clusters": [
            {"cluster": name, "description": f"{name} fails", "sample_trace_ids": evidence[name],
             "skill_gap": f"{name} gap"} for name in names
        ],
    }  # fmt: skip


def session_dir(home: Path, session: LearningSession) -> Path:
    return SessionStore(home).session_dir(session.id)


def only_session(home: Path) -> LearningSession:
    [summary] = SessionStore(home).list()
    return SessionStore(home).load(summary.id)


def test_run_with_traces_diagnoses_plans_gates_and_commits_an_improvement(
    home: Path, server: TeacherServer
) -> None:
    server.add("diagnose", diagnosis(home))
    server.add("plan", {"edits": [CALC_EDIT, ROUTE_EDIT]})
    head = git_out(home, "rev-parse", "HEAD")
    result = runner.invoke(app, ["run", "--home", str(home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    session = only_session(home)
    assert session.status is SessionStatus.COMPLETED
    assert {o.edit_id: o.status for o in session.edit_outcomes} == {
        "e1-calculator-exact": "applied",
        "e2-route-geo-big": "applied",
    }
    before, after = session.benchmark_before, session.benchmark_after
    assert before is not None and after is not None
    assert after.cluster_scores["arithmetic"] == 1.0 > before.cluster_scores["arithmetic"]
    assert after.overall_score > before.overall_score
    # Committed: one commit per kept edit, carrying the session and edit ids.
    trailers = commit_trailers(home, f"{head}..HEAD")
    assert sorted(t["Edit-ID"] for t in trailers) == ["e1-calculator-exact", "e2-route-geo-big"]
    assert {t["Session-ID"] for t in trailers} == {session.id}
    # The clusters the student's runs did not confirm, and those without evidence, dropped.
    teacher = json.loads((session_dir(home, session) / "teacher.json").read_text())
    reasons = {d["id"]: d["reason"] for d in teacher["dropped"]}
    assert set(reasons) == {"units", "formatting", "weather"}
    assert reasons["units"].startswith("no measured failures")
    assert "no evidence" in reasons["formatting"]
    assert "not a benchmark cluster" in reasons["weather"]
    assert teacher["clusters"] == ["arithmetic", "capitals"]
    assert "dropped diagnose: cluster units: no measured failures" in result.output
    # Cost: two calls of (100 prompt, 50 completion) tokens at 0.01 / 0.03 per 1000.
    assert [c["purpose"] for c in teacher["calls"]] == ["diagnose", "plan"]
    assert session.teacher_cost_usd == pytest.approx(2 * (0.001 + 0.0015))
    assert "$0.0050" in result.output
    # The plan was frozen, read-only, before the first edit touched the spec.
    plan_path = session_dir(home, session) / "plan.json"
    plan = LearningPlan.model_validate_json(plan_path.read_text())
    assert [e.id for e in plan.edits] == ["e1-calculator-exact", "e2-route-geo-big"]
    assert [c.id for c in plan.failure_clusters] == ["arithmetic", "capitals"]
    assert plan.failure_clusters[0].student_failure_rate > 0
    assert not os.stat(plan_path).st_mode & stat.S_IWUSR
    assert plan_path.stat().st_mtime_ns <= (home / "tools/descriptions.toml").stat().st_mtime_ns
    diag = json.loads((session_dir(home, session) / "diagnosis.json").read_text())
    assert session.diagnosis_path is not None and diag["measurements"]["units"]["failure_rate"] == 0
    # The reports exist and say what the teacher cost and dropped.
    report = (session_dir(home, session) / "report.md").read_text()
    assert "teacher cost:** $0.0050" in report and "units" in report
    assert "no measured failures" in (session_dir(home, session) / "report.html").read_text()
    # Nothing the teacher saw carries a trace id: aliases only.
    assert not any(b"t-arith-1" in raw for raw in server.raw)


def test_an_edit_naming_a_path_outside_the_home_is_dropped_and_the_spec_untouched(
    home: Path, server: TeacherServer
) -> None:
    outside = home.parent / "evil.md"
    escape = {
        "id": "e-escape", "pillar": "agent", "op": "replace_system_prompt",
        "target": "agents.assistant.system_prompt", "expected_improvement": "arithmetic",
        "payload": {"agent": "../../evil", "new_content": "pwned"},
    }  # fmt: skip
    target = {**CALC_EDIT, "id": "e-target", "target": "../../etc/passwd"}
    server.add("diagnose", diagnosis(home, "arithmetic"))
    server.add("plan", {"edits": [escape, target]})
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    session = teach_session(home)
    assert session.status is SessionStatus.COMPLETED and session.edit_outcomes == []
    dropped = session.trigger_metadata["teacher"]["dropped"]
    assert any(line.startswith("plan: edit e-escape: ") for line in dropped), dropped
    assert any("e-target: target '../../etc/passwd' names a path outside" in d for d in dropped)
    assert spec_bytes(home) == before and git_out(home, "rev-parse", "HEAD") == head
    assert not outside.exists() and not (home.parent.parent / "evil").exists()
    assert SessionStore(home).load_plan(session.id).edits == []


def test_schema_violating_edits_are_dropped_with_reasons_and_the_rest_applied(
    home: Path, server: TeacherServer
) -> None:
    bad = [
        {**CALC_EDIT, "id": "e-bad-op", "op": "format_disk"},
        {**CALC_EDIT, "id": "e-no-desc", "payload": {"tool_name": "calculator"}},
        {**CALC_EDIT, "id": "e-extra", "sudo": True},
        "not an edit",
        {**{k: v for k, v in CALC_EDIT.items() if k != "op"}, "id": "e-no-op"},
    ]  # fmt: skip
    server.add("diagnose", diagnosis(home, "arithmetic"))
    server.add("plan", {"edits": [*bad, CALC_EDIT]})
    session = teach_session(home)
    assert [(o.edit_id, o.status) for o in session.edit_outcomes] == [
        ("e1-calculator-exact", "applied")
    ]
    teacher = json.loads((session_dir(home, session) / "teacher.json").read_text())
    reasons = {d["id"]: d["reason"] for d in teacher["dropped"] if d["stage"] == "plan"}
    assert set(reasons) == {"e-bad-op", "e-no-desc", "e-extra", "#3", "e-no-op"}
    assert "op" in reasons["e-bad-op"] and "new_description" in reasons["e-no-desc"]
    assert "sudo" in reasons["e-extra"] and "not a JSON object" in reasons["#3"]
    assert "'op'" in reasons["e-no-op"]
    assert [e.id for e in SessionStore(home).load_plan(session.id).edits] == [CALC_EDIT["id"]]
    assert "exactly, with operator precedence" in (home / "tools/descriptions.toml").read_text()


def test_budget_reached_mid_session_stops_cleanly_with_the_diagnosis_and_no_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: TeacherServer
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = make_home(tmp_path / "home", server, extra="max_cost_per_session_usd = 1.0")
    # The diagnosis costs 0.99 of 1.00; the plan call's worst case no longer fits.
    server.add("diagnose", Reply(diagnosis(home, "arithmetic"), usage=(96000, 1000)))
    server.add("plan", {"edits": [CALC_EDIT]})
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    result = runner.invoke(app, ["run", "--home", str(home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    session = only_session(home)
    assert session.status is SessionStatus.COMPLETED and session.edit_outcomes == []
    assert server.tasks == ["diagnose"]  # the plan call was never made
    assert session.teacher_cost_usd == pytest.approx(0.99)
    assert session.error and session.error.startswith("teacher budget reached: the plan call")
    assert session.error.endswith("no plan, no edits")
    assert session.trigger_metadata["teacher"]["budget_exhausted"] == "session"
    assert spec_bytes(home) == before and git_out(home, "rev-parse", "HEAD") == head
    plan = SessionStore(home).load_plan(session.id)
    assert plan.edits == [] and [c.id for c in plan.failure_clusters] == ["arithmetic"]
    assert "teacher budget reached" in (session_dir(home, session) / "report.md").read_text()


def test_two_rounds_the_second_prompt_carries_the_first_edits_measured_deltas(
    home: Path, server: TeacherServer
) -> None:
    server.add("diagnose", diagnosis(home, "arithmetic", "capitals"))
    server.add("next_edit", {"edits": [CALC_EDIT]}, {"edits": [ROUTE_EDIT]})
    head = git_out(home, "rev-parse", "HEAD")
    result = runner.invoke(app, ["run", "--rounds", "2", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "3 call(s), 2 round(s), $0.0075" in result.output
    session = only_session(home)
    first, second = session.edit_outcomes
    assert (first.edit_id, first.status) == ("e1-calculator-exact", "applied")
    assert (second.edit_id, second.status) == ("e2-route-geo-big", "applied")
    assert len(commit_trailers(home, f"{head}..HEAD")) == 2
    # Round 1's prompt has no history; round 2's holds round 1's edit and its deltas.
    prompts = [b["messages"][-1]["content"] for b in server.bodies("next_edit")]
    assert len(prompts) == 2 and "e1-calculator-exact" not in prompts[0]
    history = json.loads(prompts[1].split("measured outcomes\n", 1)[1].split("\n\n## ", 1)[0])
    assert history == [
        {**history[0], "id": "e1-calculator-exact", "status": "applied",
         "target_cluster_delta": first.benchmark_delta, "cluster_deltas": first.cluster_deltas}
    ]  # fmt: skip
    assert first.benchmark_delta is not None and first.benchmark_delta > 0
    # Each round's proposal frozen apart; plan.json lists both, in order.
    directory = session_dir(home, session)
    for number, edit_id in ((1, "e1-calculator-exact"), (2, "e2-route-geo-big")):
        frozen = directory / f"plan-round-{number}.json"
        assert [e.id for e in LearningPlan.model_validate_json(frozen.read_text()).edits] == [
            edit_id
        ]
        assert not os.stat(frozen).st_mode & stat.S_IWUSR
    assert [e.id for e in SessionStore(home).load_plan(session.id).edits] == [
        "e1-calculator-exact",
        "e2-route-geo-big",
    ]
    assert session.teacher_cost_usd == pytest.approx(3 * 0.0025)


def test_loop_stops_when_the_score_stagnates(home: Path, server: TeacherServer) -> None:
    # Session 1 fixes arithmetic; in session 2 the student passes every arithmetic sample
    # task, so the cluster is dropped, nothing is planned and the score stays put.
    server.add("diagnose", diagnosis(home, "arithmetic"), diagnosis(home, "arithmetic"))
    server.add("plan", {"edits": [CALC_EDIT]})
    result = runner.invoke(
        app, ["loop", "--stagnation", "1", "--max-sessions", "4", "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    assert server.tasks == ["diagnose", "plan", "diagnose"]
    sessions = sorted(
        (SessionStore(home).load(s.id) for s in SessionStore(home).list()),
        key=lambda s: s.started_at,
    )
    assert len(sessions) == 2
    assert sessions[1].parent_session_id == sessions[0].id
    assert [len(s.edit_outcomes) for s in sessions] == [1, 0]
    lines = [line for line in result.output.splitlines() if ". session " in line]
    assert len(lines) == 2 and lines[0].startswith(f"1. session {sessions[0].id}: completed")
    assert "stopped: stagnation" in result.output and "2 session(s)" in result.output


def test_loop_ends_when_the_total_budget_is_spent(home: Path, server: TeacherServer) -> None:
    server.add("diagnose", diagnosis(home, "arithmetic"))
    server.add("plan", Reply({"edits": [CALC_EDIT]}, usage=(0, 100000)))  # $3.00
    result = run_loop(home, budget_usd=3.05, stagnation=3, max_sessions=5)
    assert result.stopped == "the total budget is spent", result.error
    assert server.tasks == ["diagnose", "plan"]  # session 2 could not afford its diagnosis
    assert len(result.sessions) == 2 and result.sessions[1].edit_outcomes == []
    assert result.cost_usd == pytest.approx(0.0025 + 3.0)
    assert result.sessions[1].trigger_metadata["teacher"]["budget_exhausted"] == "total"


def test_budget_reached_in_round_two_keeps_round_one_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: TeacherServer
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = make_home(tmp_path / "home", server, extra="max_cost_per_session_usd = 1.0")
    server.add("diagnose", diagnosis(home, "arithmetic", "capitals"))
    heavy = Reply({"edits": [CALC_EDIT]}, usage=(96000, 1000))  # $0.99 of the $1.00
    server.add("next_edit", heavy, {"edits": [ROUTE_EDIT]})
    head = git_out(home, "rev-parse", "HEAD")
    session = teach_session(home, rounds=3)
    assert server.tasks == ["diagnose", "next_edit"]  # round 2 was never asked
    assert session.status is SessionStatus.COMPLETED
    assert [(o.edit_id, o.status) for o in session.edit_outcomes] == [
        ("e1-calculator-exact", "applied")
    ]
    assert [t["Edit-ID"] for t in commit_trailers(home, f"{head}..HEAD")] == [CALC_EDIT["id"]]
    assert session.error and session.error.endswith("stopped at round 2 of 3; 1 done")
    assert [e.id for e in SessionStore(home).load_plan(session.id).edits] == [CALC_EDIT["id"]]
    assert not (session_dir(home, session) / "plan-round-2.json").exists()
    assert 'geo = "small-model"' in (home / "config.toml").read_text()  # round 2 never ran


def test_an_unusable_teacher_reply_fails_the_session_before_anything_is_applied(
    home: Path, server: TeacherServer
) -> None:
    server.add("diagnose", "I think the agent is bad at maths.", "Still prose, sorry.")
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    result = runner.invoke(app, ["run", "--home", str(home)])
    assert result.exit_code == 1 and "not usable twice" in result.output
    session = only_session(home)
    assert session.status is SessionStatus.FAILED and "not usable twice" in (session.error or "")
    assert session.teacher_cost_usd == pytest.approx(2 * 0.0025)  # both calls are recorded
    assert spec_bytes(home) == before and git_out(home, "rev-parse", "HEAD") == head


def test_plan_and_teacher_options_do_not_mix_and_bad_traces_change_nothing(
    home: Path, server: TeacherServer
) -> None:
    mixed = runner.invoke(
        app, ["run", "--plan", str(home / "plan.json"), "--rounds", "2", "--home", str(home)]
    )
    assert mixed.exit_code == 2 and "use one or the other" in mixed.output
    missing = runner.invoke(app, ["run", "--traces", str(home / "nope.jsonl"), "--home", str(home)])
    assert missing.exit_code == 2, missing.output
    assert server.tasks == [] and SessionStore(home).list() == []
