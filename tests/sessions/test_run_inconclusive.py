"""Sessions against a real loopback OpenAI-compatible server, on a benchmark too small to
decide an edit that changes every cluster (10 tasks each: ruling out a drop needs 26):

- ``run`` says so in one line before any student run;
- in tiered mode the inconclusive edit is restored and queued for a person with the
  gate's report as its evidence (spec files byte-identical, no commit); ``review show``
  shows the evidence; approving runs the gate again (still undecided: it stays queued;
  with a benchmark that can decide: applied and committed);
- in auto mode, or with ``[specdistill.gate] on_inconclusive = "reject"``, it is rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import isolate_git
from eval_helpers import ChatServer, chat_server
from gate_helpers import (
    answer,
    describe_calculator,
    make_home,
    route_target_to_big,
    write_benchmark,
)
from run_helpers import git_out, spec_bytes
from specdistill import LearningPlan, commands
from specdistill.checkpoint import init_checkpoints
from specdistill.cli import app
from specdistill.sessions.run import run_session


@pytest.fixture
def server() -> Any:
    with chat_server(answer) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: ChatServer) -> Path:
    isolate_git(monkeypatch, tmp_path)
    root = make_home(tmp_path / "home", server.base_url, per_cluster=10).root
    init_checkpoints(root)
    return root


def plan(*edits: Any) -> LearningPlan:
    return LearningPlan(edits=list(edits))


def test_tiered_queues_an_inconclusive_edit_with_its_evidence_and_changes_nothing(
    home: Path, server: ChatServer, tmp_path: Path
) -> None:
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    notices: list[tuple[str, int]] = []
    session = run_session(
        home, plan(describe_calculator("HELP.")), mode="tiered",
        notify=lambda line: notices.append((line, server.count)),
    )  # fmt: skip
    [outcome] = session.edit_outcomes
    assert outcome.status == "pending_review", outcome.error
    assert session.status.value == "awaiting_review"
    assert outcome.gate_report and outcome.gate_report.startswith("REJECT (inconclusive)")
    assert outcome.error and "needs ≥" in outcome.error  # what would decide it
    assert spec_bytes(home) == before and git_out(home, "rev-parse", "HEAD") == head
    # said up front, before any request reached the student
    [(line, requests_then)] = [(n, c) for n, c in notices if "cannot accept" in n]
    assert requests_then == 0 < server.count
    assert "e-describe" in line and "has 10 tasks: ruling out a 0.10 drop there needs ≥ 26" in line
    assert "\n" not in line

    qid = f"{session.id}:e-describe"
    runner = CliRunner()
    shown = runner.invoke(app, ["review", "show", qid, "--home", str(home), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert (data["gate_report"], data["gate_reason"]) == (outcome.gate_report, outcome.error)
    text = runner.invoke(app, ["review", "show", qid, "--home", str(home)])
    assert "queued because the gate could not decide it" in text.output
    assert "REJECT (inconclusive)" in text.output

    # approving runs the gate again: on the same benchmark it is still undecided
    again = commands.approve(home, queue_id=qid)
    assert again.outcome.status == "pending_review" and again.commit is None
    assert spec_bytes(home) == before and git_out(home, "rev-parse", "HEAD") == head
    assert [p.item.queue_id for p in commands.review(home)] == [qid]
    # with a benchmark that can decide it, the approval keeps it
    bigger = write_benchmark(tmp_path / "bigger.jsonl", per_cluster=40)
    kept = commands.approve(home, queue_id=qid, benchmark=bigger)
    assert kept.outcome.status == "applied" and kept.commit is not None, kept.outcome.error
    assert kept.session.status.value == "completed"
    assert "HELP." in (home / "tools" / "descriptions.toml").read_text()


@pytest.mark.parametrize(
    ("mode", "extra"),
    [("auto", ""), ("tiered", '\n[specdistill.gate]\non_inconclusive = "reject"\n')],
    ids=["auto-mode", "tiered-configured-to-reject"],
)
def test_an_inconclusive_edit_is_rejected_in_auto_mode_or_when_configured(
    home: Path, mode: str, extra: str
) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text() + extra)
    before, head = spec_bytes(home), git_out(home, "rev-parse", "HEAD")
    edits = plan(describe_calculator("HELP."))
    session = run_session(home, edits, mode=mode, allow_dirty=bool(extra))
    [outcome] = session.edit_outcomes
    assert outcome.status == "rejected_by_gate"
    assert outcome.gate_report and outcome.gate_report.startswith("REJECT (inconclusive)")
    assert session.status.value == "completed"
    assert spec_bytes(home) == before
    assert not [e for e in commands.log(home) if e.kind == "edit"]  # no edit committed
    if not extra:
        assert git_out(home, "rev-parse", "HEAD") == head


def test_an_edit_the_benchmark_can_decide_gets_no_warning_and_is_kept(
    home: Path, server: ChatServer
) -> None:
    notices: list[str] = []
    session = run_session(home, plan(route_target_to_big()), mode="tiered", notify=notices.append)
    assert [o.status for o in session.edit_outcomes] == ["applied"]
    assert not [n for n in notices if "cannot accept" in n]
