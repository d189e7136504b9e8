"""The review queue through the CLI: list, show, approve (through the gate), reject, stale.

Real sessions (checkpointed, gated) made by ``session_helpers.record_session``; a real
git repository; the real ``specdistill`` commands via typer's CliRunner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import commit_count, git, head, spec_bytes, trailers
from conftest import tree_bytes
from session_helpers import (
    PROMPT,
    gated_home,
    outcome,
    patch_edit,
    prompt_edit,
    record_session,
    session_json,
    temperature_edit,
)
from specdistill import AutonomyMode, LearningPlan, commands
from specdistill.cli import app
from specdistill.sessions.evidence import read_evidence
from specdistill.sessions.review import AlreadyResolved, StaleEdit, approve, list_queue
from specdistill.sessions.store import SessionStore

SID = "20260101-120000-aaaaaa"


def cli(home: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--home", str(home)])


def prompt_of(home: Path) -> bytes:
    return (home / "agents/assistant/system_prompt.md").read_bytes()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with one tiered session: two prompt edits queued, one auto edit gated."""
    root = gated_home(tmp_path / "home", monkeypatch)
    record_session(
        root,
        SID,
        [
            prompt_edit("good", "HELP\n"),
            prompt_edit("harmful", "HELP BREAK\n"),
            temperature_edit("cooler"),
        ],
    )
    return root


def test_the_session_queued_its_review_tier_edits(home: Path) -> None:
    data = session_json(home, SID)
    assert data["status"] == "awaiting_review"
    statuses = {o["edit_id"]: o["status"] for o in data["edit_outcomes"]}
    assert statuses == {
        "good": "pending_review",
        "harmful": "pending_review",
        "cooler": "rejected_by_gate",  # auto tier: gated in the run (no effect)
    }
    result = cli(home, "review", "--json")
    assert result.exit_code == 0, result.output
    queue = json.loads(result.output)
    assert [q["id"] for q in queue] == [f"{SID}:good", f"{SID}:harmful"]
    assert all(q["state"] == "ready" for q in queue)
    human = cli(home, "review")
    assert f"{SID}:good" in human.output and "replace_system_prompt" in human.output


def test_review_show_gives_rationale_references_and_the_diff(home: Path) -> None:
    result = cli(home, "review", "show", f"{SID}:good")
    assert result.exit_code == 0, result.output
    for fact in ("the prompt should say 'HELP'", "trace-good-1", "expected improvement: target"):
        assert fact in result.output
    assert "-You are a helpful assistant." in result.output and "+HELP" in result.output
    data = json.loads(cli(home, "review", "show", "good", "--json").output)  # bare id: unique
    assert data["id"] == f"{SID}:good" and data["state"] == "ready"
    assert data["references"] == ["trace-good-1", "trace-good-2"]
    assert data["diff"].startswith("--- a/agents/assistant/system_prompt.md")
    assert prompt_of(home) == PROMPT.encode()  # showing writes nothing


def test_approve_goes_through_the_gate_and_commits_with_the_original_session_id(
    home: Path,
) -> None:
    result = cli(home, "approve", f"{SID}:good")
    assert result.exit_code == 0, result.output
    assert "applied" in result.output and "ACCEPT" in result.output
    assert prompt_of(home) == b"HELP\n"
    found = trailers(home)
    assert found["Session-ID"] == SID and found["Edit-ID"] == "good"
    recorded = outcome(home, SID, "good")
    assert recorded["status"] == "applied" and recorded["applied_at"]
    assert recorded["benchmark_delta"] == pytest.approx(1.0)
    assert recorded["cluster_deltas"]["target"] == pytest.approx(1.0)
    assert session_json(home, SID)["status"] == "awaiting_review"  # 'harmful' still queued
    report = (home / "learning/sessions" / SID / "report.md").read_text()
    assert "| good | replace_system_prompt | review | applied | +1.000" in report

    # A rollback of the session covers the approved edit.
    rolled = cli(home, "rollback", SID)
    assert rolled.exit_code == 0, rolled.output
    assert prompt_of(home) == PROMPT.encode()


def test_a_harmful_approved_edit_is_rejected_by_the_gate_and_its_bytes_restored(
    home: Path,
) -> None:
    assert cli(home, "approve", f"{SID}:good").exit_code == 0
    before, commits = spec_bytes(home), commit_count(home)
    result = cli(home, "approve", f"{SID}:harmful", "--gate", "sequential")
    assert result.exit_code == 0, result.output
    assert "rejected_by_gate" in result.output and "the spec is unchanged" in result.output
    assert spec_bytes(home) == before and commit_count(home) == commits
    recorded = outcome(home, SID, "harmful")
    assert recorded["status"] == "rejected_by_gate"
    assert "eps" in recorded["error"] and recorded["gate_report"].startswith("REJECT")
    data = session_json(home, SID)
    assert data["status"] == "completed" and data["ended_at"]  # the queue is empty
    assert cli(home, "review", "--json").output.strip() == "[]"


def test_reject_is_recorded_with_the_reason_and_touches_no_spec_file(home: Path) -> None:
    before, commits = spec_bytes(home), commit_count(home)
    result = cli(home, "reject", "harmful", "--reason", "breaks other tasks")
    assert result.exit_code == 0, result.output
    recorded = outcome(home, SID, "harmful")
    assert (recorded["status"], recorded["error"]) == ("rejected_by_user", "breaks other tasks")
    assert spec_bytes(home) == before and commit_count(home) == commits
    assert session_json(home, SID)["status"] == "awaiting_review"
    assert cli(home, "reject", f"{SID}:good", "--reason", "not now").exit_code == 0
    assert session_json(home, SID)["status"] == "completed"
    index = cli(home, "history", "--json")
    assert json.loads(index.output)[0]["status"] == "completed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("approve", f"{SID}:cooler"), "already resolved (rejected_by_gate)"),
        (("approve", "cooler"), "is not waiting for review"),
        (("reject", f"{SID}:cooler", "--reason", "x"), "already resolved"),
        (("approve", "20991231-000000-ffffff:good"), "no session '20991231-000000-ffffff'"),
        (("approve", f"{SID}:nope"), f"session {SID} has no edit 'nope'"),
        (("approve", "nope"), "no queued edit 'nope'"),
        (("approve", f"{SID}:good", "--gate", "off"), "approve needs a gate"),
        (("reject", f"{SID}:good", "--reason", "  "), "needs a reason"),
        (("review", "show", "../../etc:good"), "contains a path separator"),
    ],
    ids=[
        "approve-resolved",
        "approve-resolved-bare",
        "reject-resolved",
        "unknown-session",
        "unknown-edit",
        "unknown-bare",
        "gate-off",
        "empty-reason",
        "path-like-session",
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    before = tree_bytes(home)
    result = cli(home, *args)
    assert result.exit_code == 2, result.output
    first = result.output.strip().splitlines()[0]
    assert first.startswith("error:") and message in first, result.output
    assert tree_bytes(home) == before


def test_an_ambiguous_bare_id_lists_the_candidates(home: Path) -> None:
    other = "20260102-120000-bbbbbb"
    record_session(home, other, [prompt_edit("good", "HELP!\n")], mode=AutonomyMode.MANUAL)
    result = cli(home, "approve", "good")
    assert result.exit_code == 2
    assert f"{SID}:good" in result.output and f"{other}:good" in result.output
    assert "ambiguous" in result.output


def test_manual_mode_queues_every_edit_and_auto_tier_ones_approve_through_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    sid = "20260103-000000-cccccc"
    record_session(home, sid, [temperature_edit("cooler")], mode=AutonomyMode.MANUAL)
    assert [item.queue_id for item in list_queue(home)] == [f"{sid}:cooler"]
    before = spec_bytes(home)
    resolution = approve(home, "cooler")
    # The student ignores temperature: no gain on the target, so the gate says no.
    assert resolution.outcome.status == "rejected_by_gate"
    assert spec_bytes(home) == before
    assert resolution.session.status.value == "completed"
    with pytest.raises(AlreadyResolved):
        approve(home, f"{sid}:cooler")


def test_a_queued_edit_whose_target_changed_is_stale_and_cannot_be_approved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    sid = "20260104-000000-dddddd"
    record_session(home, sid, [patch_edit("patch"), prompt_edit("whole", "HELP\n")])
    # The user rewrites the prompt by hand (and commits it) after the session.
    (home / "agents/assistant/system_prompt.md").write_text("You are terse.\nAnswer concisely.\n")
    git(home, "commit", "-qam", "my own prompt")
    listing = {q["id"]: q for q in json.loads(cli(home, "review", "--json").output)}
    stale, whole = listing[f"{sid}:patch"], listing[f"{sid}:whole"]
    assert stale["state"] == "stale" and "does not apply" in stale["reason"].lower()
    # The whole-prompt replacement still applies, but its target changed since queued.
    assert whole["state"] == "ready"
    assert whole["changed_since_queued"] == ["agents/assistant/system_prompt.md"]
    shown = cli(home, "review", "show", f"{sid}:patch")
    assert shown.exit_code == 0 and "STALE" in shown.output

    before, tip = tree_bytes(home), head(home)
    result = cli(home, "approve", f"{sid}:patch")
    assert result.exit_code == 2
    assert "is stale" in result.output and "nothing was changed" in result.output
    assert tree_bytes(home) == before and head(home) == tip
    with pytest.raises(StaleEdit):
        approve(home, f"{sid}:patch")
    assert outcome(home, sid, "patch")["status"] == "pending_review"


def _section(report: str, edit_id: str) -> str:
    """The markdown report's section of ``edit_id`` (up to the next heading)."""
    start = report.index(f"### {edit_id}:")
    return report[start : report.find("\n#", start + 1)]


def test_approve_and_reject_record_their_evidence_and_the_reports_show_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A session run as 'specdistill run --plan' does, so its evidence.json holds the
    # queue-time preview of each queued edit (no gate ran on them yet).
    home = gated_home(tmp_path / "home", monkeypatch)
    plan = LearningPlan(edits=[prompt_edit("good", "HELP\n"), prompt_edit("harmful", "BREAK\n")])
    sid = commands.run_session(home, plan=plan).session.id
    store = SessionStore(home)
    queued = read_evidence(store, sid)
    assert queued is not None
    good_then = queued.for_edit("good")
    assert good_then is not None and good_then.diff_source == "preview"
    assert good_then.verdict is None and good_then.clusters == [] and good_then.flips == []

    assert approve(home, f"{sid}:good").outcome.status == "applied"
    good = read_evidence(store, sid).for_edit("good")  # type: ignore[union-attr]
    assert good is not None and good.review == "approved"
    assert (good.diff_source, good.verdict) == ("gate", "accept")
    assert "-Answer concisely." in good.diff and "+HELP" in good.diff
    by_role = {(c.role, c.cluster): c for c in good.clusters}
    target = by_role[("target", "target")]
    assert target.n > 0 and target.wins == target.n and target.mean_delta == pytest.approx(1.0)
    assert by_role[("off_target", "other")].mean_delta == pytest.approx(0.0)
    assert good.flips and all(f.cluster == "target" for f in good.flips)
    assert {(f.before_answer, f.after_answer) for f in good.flips} == {("no", "yes")}

    reason = "breaks <b>other</b> tasks"
    result = cli(home, "reject", f"{sid}:harmful", "--reason", reason)
    assert result.exit_code == 0, result.output
    harmful = read_evidence(store, sid).for_edit("harmful")  # type: ignore[union-attr]
    assert harmful is not None and (harmful.review, harmful.review_note) == ("rejected", reason)
    assert harmful.diff_source == "preview" and "+BREAK" in harmful.diff  # as it was queued

    folder = home / "learning/sessions" / sid
    md = (folder / "report.md").read_text()
    good_md = _section(md, "good")
    assert "**Review:** Approved in review and run through the gate again" in good_md
    assert "| target (target) | +1.000" in good_md and "Tasks that flipped" in good_md
    assert "+HELP" in good_md
    harmful_md = _section(md, "harmful")
    assert "**Review:** Rejected in review: breaks &lt;b&gt;other&lt;/b&gt; tasks" in harmful_md
    page = (folder / "report.html").read_text()
    assert "Rejected in review: breaks &lt;b&gt;other&lt;/b&gt; tasks" in page
    assert "<b>other</b>" not in page
    good_html = page[page.index(">good: <") : page.index(">harmful: <")]
    assert "Approved in review and run through the gate again" in good_html
    assert "Tasks that flipped" in good_html and "+HELP" in good_html
