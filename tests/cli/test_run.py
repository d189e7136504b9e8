"""``specdistill loop --json``: one JSON document on stdout (each session, the scores, why it
stopped, the cost), checked against the sessions recorded on disk. The teacher is a
scripted loopback server, the student the example agent on the example home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import isolate_git
from specdistill.checkpoint import init_checkpoints
from specdistill.cli import app
from specdistill.example.quickstart import create_example_home
from specdistill.sessions.store import SessionStore
from specdistill.teacher import SharePolicy, TraceThresholds, build_sample, load_traces
from teacher_helpers import CALC_EDIT, TEACHER_CONFIG, TRACES, teacher_server


def test_loop_json_is_one_document_matching_the_recorded_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = tmp_path / "home"
    create_example_home(home)
    with teacher_server() as server:
        config = home / "config.toml"
        config.write_text(config.read_text() + TEACHER_CONFIG.format(url=server.base_url, extra=""))
        (home / "traces.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TRACES))
        init_checkpoints(home)
        sample = build_sample(load_traces(home / "traces.jsonl"), SharePolicy(), TraceThresholds())
        alias = {trace_id: a for a, trace_id in sample.aliases.items()}
        diagnosis = {
            "summary": "precedence",
            "clusters": [{
                "cluster": "arithmetic", "description": "arithmetic fails",
                "sample_trace_ids": [alias["t-arith-1"], alias["t-arith-2"]],
                "skill_gap": "precedence",
            }],
        }  # fmt: skip
        # Session 1 fixes arithmetic; session 2 finds nothing to plan: the score stalls.
        server.add("diagnose", diagnosis, diagnosis)
        server.add("plan", {"edits": [CALC_EDIT]})
        args = ["loop", "--stagnation", "1", "--max-sessions", "4", "--home", str(home)]
        result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the whole of stdout is one document
    store = SessionStore(home)
    recorded = sorted((store.load(s.id) for s in store.list()), key=lambda s: s.started_at)
    assert [s["id"] for s in data["sessions"]] == [s.id for s in recorded]
    assert len(recorded) == 2
    first, second = data["sessions"]
    assert (first["status"], first["applied"], first["pending_review"]) == ("completed", 1, 0)
    assert (second["applied"], second["pending_review"]) == (0, 0)
    for shown, session in zip(data["sessions"], recorded, strict=True):
        assert shown["score_before"] == pytest.approx(session.benchmark_before.overall_score)
        assert shown["score_after"] == pytest.approx(session.benchmark_after.overall_score)
        assert shown["teacher_cost_usd"] == pytest.approx(session.teacher_cost_usd)
        assert shown["error"] is None
    assert first["score_after"] > first["score_before"]
    assert data["scores"][0] == pytest.approx(first["score_before"])
    assert (data["score_first"], data["score_last"]) == (data["scores"][0], data["scores"][-1])
    assert data["stopped"].startswith("stagnation") and data["error"] is None
    assert data["cost_usd"] == pytest.approx(sum(s.teacher_cost_usd for s in recorded))
    assert ". session " not in result.stdout  # no text lines mixed in
