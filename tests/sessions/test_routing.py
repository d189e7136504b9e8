"""Routing is recorded, not re-derived: each edit's tier and route are frozen in the
session's ``routing.json`` when execute routes it, and ``show``, the reports and
``review`` read them back, even after ``[specdistill.tier_overrides]`` changes.

Also: the one ``GateMode`` and the one place that opens a gate (``open_gate``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from session_helpers import gated_home, prompt_edit, temperature_edit
from specdistill import AutonomyMode, LearningPlan, LearningSession
from specdistill.errors import InvalidInput
from specdistill.gate.config import GateMode
from specdistill.gate.settings import open_gate, parse_gate_mode
from specdistill.models import EditOutcome, EditRiskTier
from specdistill.sessions.report import write_reports
from specdistill.sessions.report_facts import TIERS_REDERIVED, load_facts
from specdistill.sessions.review import approve, check_approvable, review_queue
from specdistill.sessions.routing import ROUTING_FILE, Route, RoutedEdit, route_taken
from specdistill.sessions.run import run_session
from specdistill.sessions.store import SessionStore

SID = "20260107-000000-abcdef"
#: After the session: the queued prompt edit's op becomes manual, the gated one review.
OVERRIDES = (
    '\n[specdistill.tier_overrides]\nreplace_system_prompt = "manual"\nset_model_param = "review"\n'
)


@pytest.fixture
def routed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, LearningSession]:
    """A tiered session (one edit queued, one gated), then the tier overrides changed."""
    home = gated_home(tmp_path / "home", monkeypatch)
    plan = LearningPlan(edits=[prompt_edit("later", "HELP\n"), temperature_edit("cooler")])
    session = run_session(home, plan, mode="tiered", session_id=SID)
    assert [o.status for o in session.edit_outcomes] == ["pending_review", "rejected_by_gate"]
    config = home / "config.toml"
    text = config.read_text()
    assert "[specdistill.tier_overrides]\n" in text  # init_home writes an empty table
    config.write_text(text.replace("[specdistill.tier_overrides]\n", OVERRIDES.lstrip("\n"), 1))
    return home, session


def test_execute_freezes_each_edits_tier_and_route(routed: tuple[Path, LearningSession]) -> None:
    home, _ = routed
    record = json.loads((SessionStore(home).session_dir(SID) / ROUTING_FILE).read_text())
    assert record == {
        "edits": [
            {
                "edit_id": "later",
                "op": "replace_system_prompt",
                "tier": "review",
                "route": "review",
            },
            {"edit_id": "cooler", "op": "set_model_param", "tier": "auto", "route": "gate"},
        ]
    }


def test_show_reads_the_recorded_tiers(routed: tuple[Path, LearningSession]) -> None:
    home, session = routed
    facts = load_facts(SessionStore(home), session)
    assert facts.tiers_recorded
    assert [(r.edit_id, r.tier, r.route) for r in facts.edits] == [
        ("later", "review", Route.REVIEW),
        ("cooler", "auto", Route.GATE),
    ]
    from specdistill.cli import app  # the CLI's show renders these same facts

    result = CliRunner().invoke(app, ["show", SID, "--home", str(home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if "│ " in line}
    assert " review " in rows["later"] and " manual " not in rows["later"]
    assert " auto " in rows["cooler"] and " review " not in rows["cooler"]


def test_reports_keep_the_recorded_tiers(routed: tuple[Path, LearningSession]) -> None:
    home, session = routed
    store = SessionStore(home)
    md_path, html_path = write_reports(store, session, store.load_plan(SID))  # rewritten today
    md = md_path.read_text()
    assert "| cooler | set_model_param | auto | rejected_by_gate |" in md
    assert f"- {SID}:later (replace_system_prompt, review tier)" in md
    assert TIERS_REDERIVED not in md
    html = html_path.read_text()
    assert "(replace_system_prompt, review tier)" in html and TIERS_REDERIVED not in html


def test_review_shows_the_recorded_tier_and_approval_follows_todays(
    routed: tuple[Path, LearningSession],
) -> None:
    home, _ = routed
    [preview] = review_queue(home)
    assert preview.item.edit.risk_tier is EditRiskTier.REVIEW
    assert preview.to_json()["tier"] == "review" and preview.state == "ready"
    # Approval applies the edit now, so today's overrides decide whether it may be:
    # refused up front, nothing written, rather than recorded as skipped.
    before = (home / "agents/assistant/system_prompt.md").read_bytes()
    session_file = SessionStore(home).session_dir(SID) / "session.json"
    recorded = session_file.read_bytes()
    for attempt in (lambda: check_approvable(home, f"{SID}:later"),
                    lambda: approve(home, f"{SID}:later")):  # fmt: skip
        with pytest.raises(InvalidInput, match="manual-tier now"):
            attempt()
    assert (home / "agents/assistant/system_prompt.md").read_bytes() == before
    assert session_file.read_bytes() == recorded


def test_an_older_session_without_a_record_rederives_its_tiers_and_says_so(
    routed: tuple[Path, LearningSession],
) -> None:
    home, session = routed
    store = SessionStore(home)
    (store.session_dir(SID) / ROUTING_FILE).unlink()
    facts = load_facts(store, session)
    assert not facts.tiers_recorded
    assert [(r.edit_id, r.tier, r.route) for r in facts.edits] == [
        ("later", "manual", None),
        ("cooler", "review", None),
    ]
    md = write_reports(store, session, store.load_plan(SID))[0].read_text()
    assert f"- **tiers:** {TIERS_REDERIVED}" in md
    [preview] = review_queue(home)
    assert preview.state == "manual"


@pytest.mark.parametrize(
    ("status", "error", "mode", "gated", "route"),
    [
        pytest.param("applied", None, AutonomyMode.TIERED, True, Route.GATE, id="gated"),
        pytest.param("applied", None, AutonomyMode.AUTO, False, Route.APPLY, id="ungated"),
        pytest.param("pending_review", None, AutonomyMode.MANUAL, True, Route.REVIEW,
                     id="manual-autonomy"),
        pytest.param("skipped", "op x has no registered applier", AutonomyMode.AUTO, True,
                     Route.SKIP, id="no-applier"),
        pytest.param("skipped", "interrupted (Ctrl-C) while gating: the edit was undone",
                     AutonomyMode.AUTO, True, Route.GATE, id="stopped-while-gating"),
        pytest.param("skipped", "not attempted: the run was interrupted (Ctrl-C) before this "
                     "edit", AutonomyMode.AUTO, True, Route.NOT_ATTEMPTED, id="not-attempted"),
    ],
)  # fmt: skip
def test_route_taken(
    status: str, error: str | None, mode: AutonomyMode, gated: bool, route: Route
) -> None:
    edit = temperature_edit("t")  # auto tier
    outcome = EditOutcome(edit_id="t", status=status, error=error)  # type: ignore[arg-type]
    assert route_taken(edit, outcome, autonomy_mode=mode, gated=gated) is route


def test_route_of_a_manual_tier_edit_is_skip() -> None:
    edit = temperature_edit("t").model_copy(update={"risk_tier": EditRiskTier.MANUAL})
    outcome = EditOutcome(edit_id="t", status="skipped", error="manual tier")
    routed = RoutedEdit.of(edit, outcome, autonomy_mode=AutonomyMode.AUTO, gated=True)
    assert (routed.tier, routed.route) == (EditRiskTier.MANUAL, Route.SKIP)


# -- one GateMode, one place that opens a gate --------------------------------------------


def test_gate_modes_parse_once_with_one_message() -> None:
    assert parse_gate_mode("mean") is GateMode.mean
    assert parse_gate_mode(GateMode.off) is GateMode.off
    with pytest.raises(InvalidInput) as info:
        parse_gate_mode("strict")
    assert info.value.message == "gate mode 'strict' is unknown (use one of: off, sequential, mean)"


def test_open_gate_takes_a_mode_and_refuses_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    gate = open_gate(home, mode="mean", use_cache=False)
    assert gate.config.mode == "mean" and gate.cache is None
    with pytest.raises(InvalidInput, match="opens no gate"):
        open_gate(home, mode=GateMode.off)
    with pytest.raises(InvalidInput, match="use one of: off, sequential, mean"):
        run_session(home, LearningPlan(), gate_mode="strict")
