"""The gate in the execute loop: a real student (a Python function) built from the spec
being gated, real files, the real result cache. An edit stays only if it helps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from session_helpers import benchmark_text as two_cluster_benchmark
from session_helpers import student as answer_from_prompt
from specdistill import ApplyContext, AutonomyMode, Edit, EditOp, execute_edits, init_home
from specdistill.evaluation import PythonStudent, ResultCache, parse_benchmark
from specdistill.gate import GateConfig
from specdistill.gate.driver import BenchmarkGate

CALLS: list[tuple[str, str]] = []


def prompt_reading_student(task: dict, home: str) -> str:
    """session_helpers.student (HELP fixes 'target', BREAK breaks 'other'), with its calls
    recorded so tests can see what ran on which prompt."""
    prompt = (Path(home) / "agents/assistant/system_prompt.md").read_text()
    CALLS.append((task["id"], prompt))
    return answer_from_prompt(task, home)


def benchmark_text() -> str:
    return two_cluster_benchmark(per_cluster=80)


def prompt_edit(edit_id: str, text: str) -> Edit:
    return Edit(
        id=edit_id,
        pillar="agent",
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        target="agents.assistant.system_prompt",
        payload={"new_content": text},
        expected_improvement="target",
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    init_home(tmp_path / "home")
    CALLS.clear()
    return tmp_path / "home"


def gate_for(home: Path, mode: str = "sequential") -> BenchmarkGate:
    return BenchmarkGate(
        parse_benchmark(benchmark_text()),
        PythonStudent(prompt_reading_student),
        config=GateConfig(mode=mode),
        cache=ResultCache.for_home(home),
        concurrency=4,
    )


def run(home: Path, edits: list[Edit], gate: BenchmarkGate):
    ctx = ApplyContext(home=home, session_id="s")
    return execute_edits(edits=edits, ctx=ctx, autonomy_mode=AutonomyMode.AUTO, gate=gate)


def prompt_bytes(home: Path) -> bytes:
    return (home / "agents/assistant/system_prompt.md").read_bytes()


def test_helpful_edit_is_kept_with_its_deltas(home: Path) -> None:
    [outcome] = run(home, [prompt_edit("good", "HELP\n")], gate_for(home))
    assert outcome.status == "applied", outcome.error
    assert outcome.benchmark_delta == pytest.approx(1.0)
    assert outcome.cluster_deltas["target"] == pytest.approx(1.0)
    assert outcome.cluster_deltas.get("other", 0.0) == pytest.approx(0.0)
    assert outcome.gate_report and outcome.gate_report.startswith("ACCEPT")
    assert prompt_bytes(home) == b"HELP\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("HELP BREAK\n", "lost more than eps"), ("nothing useful\n", "")],
    ids=["helps-target-but-breaks-others", "no-effect"],
)
def test_unhelpful_edits_are_undone_to_the_exact_bytes(home: Path, text: str, reason: str) -> None:
    before = prompt_bytes(home)
    [outcome] = run(home, [prompt_edit("bad", text)], gate_for(home))
    assert outcome.status == "rejected_by_gate"
    assert outcome.error and reason in outcome.error.lower()
    assert outcome.gate_report and outcome.gate_report.startswith("REJECT")
    assert prompt_bytes(home) == before


def test_the_baseline_moves_with_each_accepted_edit(home: Path) -> None:
    # Once HELP is accepted, the same fix again is no improvement over the new baseline.
    outcomes = run(
        home, [prompt_edit("first", "HELP\n"), prompt_edit("again", "HELP!\n")], gate_for(home)
    )
    assert [o.status for o in outcomes] == ["applied", "rejected_by_gate"]
    assert prompt_bytes(home) == b"HELP\n"


def test_the_baseline_is_never_paid_for_twice(home: Path) -> None:
    run(home, [prompt_edit("first", "nothing\n")], gate_for(home))
    first_baseline = {tid for tid, prompt in CALLS if "nothing" not in prompt}
    CALLS.clear()
    run(home, [prompt_edit("second", "HELP\n")], gate_for(home))
    second_baseline = {tid for tid, prompt in CALLS if "HELP" not in prompt}
    assert first_baseline, "the first gate ran the baseline"
    # the second gate ran (on the unchanged baseline) only tasks the first had not
    assert not first_baseline & second_baseline


def test_target_cluster_not_in_the_benchmark_is_insufficient_evidence(home: Path) -> None:
    edit = prompt_edit("x", "HELP\n").model_copy(update={"expected_improvement": "nope"})
    [outcome] = run(home, [edit], gate_for(home))
    assert outcome.status == "rejected_by_gate"
    assert "insufficient evidence" in (outcome.error or "")
    assert prompt_bytes(home) != b"HELP\n"


def test_mean_mode_is_the_reference_rule(home: Path) -> None:
    [outcome] = run(home, [prompt_edit("good", "HELP\n")], gate_for(home, mode="mean"))
    assert outcome.status == "applied"
    assert outcome.gate_report is not None


def test_without_a_gate_the_seed_behaviour_is_unchanged(home: Path) -> None:
    ctx = ApplyContext(home=home, session_id="s")
    [outcome] = execute_edits(
        edits=[prompt_edit("x", "nothing\n")], ctx=ctx, autonomy_mode=AutonomyMode.AUTO
    )
    assert outcome.status == "applied" and outcome.benchmark_delta is None
    assert CALLS == []


def test_cli_apply_with_the_gate_keeps_only_the_helpful_edit(home: Path) -> None:
    from typer.testing import CliRunner

    from specdistill.cli import app

    (home / "benchmark.jsonl").write_text(benchmark_text())
    config = home / "config.toml"
    config.write_text(
        config.read_text()
        + '\n[specdistill.student]\nkind = "python"\n'
        + 'function = "gate.test_loop:prompt_reading_student"\n'
    )
    plan = {
        "edits": [
            json.loads(prompt_edit("good", "HELP\n").model_dump_json()),
            json.loads(prompt_edit("harmful", "HELP BREAK\n").model_dump_json()),
        ]
    }
    (home.parent / "plan.json").write_text(json.dumps(plan))
    result = CliRunner().invoke(
        app,
        ["apply", str(home.parent / "plan.json"), "--home", str(home), "--mode", "auto",
         "--gate", "sequential", "--allow-dirty"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "gate on good" in result.output and "ACCEPT" in result.output
    assert "REJECT" in result.output
    assert prompt_bytes(home) == b"HELP\n"
    log = CliRunner().invoke(app, ["log", "--home", str(home), "--json"])
    assert '"good"' in log.output and '"harmful"' not in log.output


def flaky_student(task: dict, home: str) -> str:
    """Fails outright on a third of the tasks: errors, neither passes nor fails."""
    if int(task["id"][-3:]) % 3 == 0:
        raise RuntimeError("the agent crashed")
    return prompt_reading_student(task, home)


def test_too_many_errors_make_the_gate_abstain_and_the_edit_is_undone(home: Path) -> None:
    gate = BenchmarkGate(
        parse_benchmark(benchmark_text()),
        PythonStudent(flaky_student),
        config=GateConfig(max_error_rate=0.2),
        cache=ResultCache.for_home(home),
        concurrency=4,
    )
    before = prompt_bytes(home)
    [outcome] = run(home, [prompt_edit("good", "HELP\n")], gate)
    assert outcome.status == "rejected_by_gate"
    assert (outcome.error or "").startswith("insufficient evidence")
    assert "errors:" in (outcome.gate_report or "")
    assert prompt_bytes(home) == before


def interrupting_student(task: dict, home: str) -> str:
    """Presses Ctrl-C (a real SIGINT to this process) on its first task."""
    import os
    import signal

    if not CALLS:
        os.kill(os.getpid(), signal.SIGINT)
    return prompt_reading_student(task, home)


def test_ctrl_c_while_gating_undoes_the_edit_and_stops_the_run(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checkpoint_helpers import isolate_git
    from specdistill.checkpoint import checkpointed_run, init_checkpoints
    from specdistill.execute import GATE_STOPPED, INTERRUPTED_REASON

    isolate_git(monkeypatch, home.parent)
    init_checkpoints(home)
    gate = BenchmarkGate(
        parse_benchmark(benchmark_text()),
        PythonStudent(interrupting_student),
        cache=ResultCache.for_home(home),
        concurrency=4,
    )
    before = prompt_bytes(home)
    with checkpointed_run(home, command="test", session_id="s", notify=None) as run_:
        ctx = ApplyContext(home=home, session_id="s")
        outcomes = execute_edits(
            edits=[prompt_edit("first", "HELP\n"), prompt_edit("second", "HELP!\n")],
            ctx=ctx,
            autonomy_mode=AutonomyMode.AUTO,
            checkpoint=run_,
            gate=gate,
        )
        assert run_.signals.received is not None
    assert [(o.status, o.error) for o in outcomes] == [
        ("skipped", GATE_STOPPED),
        ("skipped", INTERRUPTED_REASON),
    ]
    assert prompt_bytes(home) == before
    assert len(CALLS) <= 8  # stopped after the batch in flight, not after the whole gate
