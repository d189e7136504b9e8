"""The gate end to end against a real loopback OpenAI-compatible server (the test starts
it): the gate opened from the home's config with :func:`open_gate`, the real openai
student, real appliers through ``execute_edits``. Counts are taken at the server.

- a small benchmark (10 tasks per cluster): an edit that fixes 8 of 10 target tasks and
  leaves the other clusters' requests unchanged is accepted;
- a candidate that fails with HTTP 500 exactly on the tasks it would get wrong is not
  accepted (errors count against the edit), while the same edit without the breakage is;
- a parameter the openai student never sends (``max_turns``) costs zero requests and is
  decided without a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import tree_bytes
from eval_helpers import ChatServer, chat_server
from gate_helpers import (
    CONFIG,
    answer,
    describe_calculator,
    make_home,
    more_turns,
    route_target_to_big,
)
from specdistill import ApplyContext, AutonomyMode, Edit, execute_edits
from specdistill.gate.driver import GateVerdict
from specdistill.gate.settings import open_gate
from specdistill.home import SpecHome


def gated(home: SpecHome, edit: Edit) -> tuple[str, GateVerdict]:
    """Apply ``edit`` through the gate the home's config describes; (status, verdict)."""
    gate = open_gate(home)
    verdicts: list[GateVerdict] = []
    evaluate = gate.evaluate

    def keep(*args: Any, **kw: Any) -> GateVerdict:
        verdicts.append(evaluate(*args, **kw))
        return verdicts[-1]

    gate.evaluate = keep  # type: ignore[method-assign]  # to read the verdict back
    try:
        [outcome] = execute_edits(
            edits=[edit], ctx=ApplyContext(home=home.root), autonomy_mode=AutonomyMode.AUTO,
            gate=gate,
        )  # fmt: skip
    finally:
        assert gate.cache is not None
        gate.cache.close()
    return outcome.status, verdicts[0]


def spec_bytes(home: SpecHome) -> dict[str, bytes]:
    """Every file of the home but learning/ (the result cache)."""
    return {k: v for k, v in tree_bytes(home.root).items() if not k.startswith("learning/")}


@pytest.fixture
def server() -> Any:
    with chat_server(answer) as running:
        yield running


def test_eight_of_ten_target_tasks_fixed_is_accepted_on_a_small_benchmark(
    tmp_path: Path, server: ChatServer
) -> None:
    home = make_home(tmp_path / "home", server.base_url, per_cluster=10)
    status, verdict = gated(home, route_target_to_big())
    assert status == "applied" and verdict.outcome == "accept", verdict.report
    assert 'target = "big-model"' in (home.root / "config.toml").read_text()
    # only the target's 10 tasks ran: 3 repeats (auto for an openai student) on each spec
    assert len(verdict.unchanged) == 20
    assert server.count == verdict.runs_used == 10 * 3 * 2
    assert {r["messages"][-1]["content"].split()[0] for r in server.requests} == {"target"}
    decision = verdict.decision
    assert decision is not None
    assert (decision.target.wins, decision.target.losses) == (8, 0)
    assert "'units': not changed by the edit (10 tasks unchanged)" in verdict.reason


@pytest.mark.parametrize(
    ("description", "status"),
    [
        ("HELP. Exact.", "applied"),  # the benchmark can accept this edit
        ("HELP. BREAK.", "rejected_by_gate"),  # the honest breakage is seen
        ("HELP. BREAK. HIDE.", "rejected_by_gate"),  # ... and so is the hidden one
    ],
    ids=["helpful", "breaks-others", "breaks-others-behind-http-500"],
)
def test_a_candidate_failing_with_http_500_exactly_where_it_would_lose_is_not_accepted(
    tmp_path: Path, server: ChatServer, description: str, status: str
) -> None:
    # 40 tasks per cluster, one run each (the loopback model is deterministic), and a
    # lenient error ceiling, so that the decision is the tests' and not an abstention.
    extra = "\n[specdistill.gate]\nrepeats = 1\nmax_error_rate = 0.5\n"
    home = make_home(tmp_path / "home", server.base_url, per_cluster=40, extra=extra)
    before = spec_bytes(home)
    got, verdict = gated(home, describe_calculator(description))
    assert got == status, verdict.report
    decision = verdict.decision
    assert decision is not None
    if "HIDE" in description:
        assert decision.errors > 0
        hidden = [c for c in decision.clusters if c.role != "target" and c.errors]
        # over the scored pairs the other clusters look perfect: dropping the errored
        # pairs would have accepted this edit
        assert hidden and all(c.losses == 0 for c in hidden), verdict.report
        assert "errored (counted as losses)" in verdict.reason
    if status != "applied":
        assert spec_bytes(home) == before


def test_a_param_the_student_never_sends_costs_no_request(
    tmp_path: Path, server: ChatServer
) -> None:
    home = make_home(tmp_path / "home", server.base_url, per_cluster=10)
    status, verdict = gated(home, more_turns())
    assert status == "rejected_by_gate"
    assert server.count == 0 and verdict.runs_used == 0  # decided without a run
    assert len(verdict.unchanged) == 30
    assert "futility: the edit changes none of the target's 10 tasks" in verdict.reason


def test_declaring_the_whole_home_as_read_makes_the_same_edit_pay(
    tmp_path: Path, server: ChatServer
) -> None:
    """The control: a student declared to read the whole home re-runs the same edit (what
    the gate cost before the cache keyed on what the openai student sends)."""
    extra = '\n[specdistill.student]\nfingerprint_scope = "home"\n'
    config = CONFIG.replace("[specdistill.student]\n", "[specdistill.student]\n" + extra[22:])
    home = make_home(tmp_path / "home", server.base_url, per_cluster=10)
    (home.root / "config.toml").write_text(config.format(url=server.base_url, extra=""))
    status, verdict = gated(home, more_turns())
    assert status == "rejected_by_gate" and verdict.unchanged == ()
    assert server.count == verdict.runs_used > 0
    print(f"never-sent max_turns with fingerprint_scope 'home': {server.count} requests")
