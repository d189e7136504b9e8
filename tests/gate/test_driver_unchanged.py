"""The gate's driver with a real Python student on real homes: tasks the edit leaves
unchanged are not run and are named in the verdict, repeats run each task r times, an
errored candidate run counts against the edit, and the verdict has three outcomes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specdistill import Edit, EditOp, init_home
from specdistill.evaluation import PythonStudent, parse_benchmark
from specdistill.gate import GateConfig
from specdistill.gate.driver import BenchmarkGate, fingerprint_unchanged
from specdistill.home import SpecHome

CALLS: list[tuple[str, str]] = []  # (task id, "HELP" if the prompt has it else "-")
CLUSTERS = ("target", "units", "dates")


def student(task: dict, home: str) -> str:
    """HELP fixes target tasks 0-7 of 10; FAIL makes it crash where it would lose."""
    prompt = (Path(home) / "agents/assistant/system_prompt.md").read_text()
    CALLS.append((task["id"], "HELP" if "HELP" in prompt else "-"))
    i = int(task["id"].rsplit("-", 1)[1])
    if task["cluster"] == "target":
        return "yes" if "HELP" in prompt and i < 8 else "no"
    if "FAIL" in prompt and i < 3:
        raise RuntimeError("HTTP 500")  # exactly where BREAK would have lost
    return "no" if "BREAK" in prompt and i < 3 else "yes"


def benchmark(per_cluster: int = 10):
    lines = []
    for cluster in CLUSTERS:
        for i in range(per_cluster):
            task = {"id": f"{cluster}-{i:03d}", "input": f"q{i}", "cluster": cluster,
                    "reference": "yes", "scorer": "exact", "agent": "assistant"}  # fmt: skip
            lines.append(json.dumps(task))
    return parse_benchmark("\n".join(lines) + "\n")


def edit(text: str) -> Edit:
    return Edit(id="e1", pillar="agent", op=EditOp.REPLACE_SYSTEM_PROMPT,
                target="agents.assistant.system_prompt", payload={"new_content": text},
                expected_improvement="target")  # fmt: skip


@pytest.fixture
def homes(tmp_path: Path) -> tuple[SpecHome, SpecHome]:
    """(baseline, candidate): the candidate is a copy whose prompt the test rewrites."""
    CALLS.clear()
    init_home(tmp_path / "base")
    (tmp_path / "base/agents/assistant/system_prompt.md").write_text("plain\n")
    shutil.copytree(tmp_path / "base", tmp_path / "cand")
    return SpecHome(tmp_path / "base"), SpecHome(tmp_path / "cand")


def with_prompt(home: SpecHome, text: str) -> SpecHome:
    (home.root / "agents/assistant/system_prompt.md").write_text(text)
    return home


def gate(**kw: object) -> BenchmarkGate:
    return BenchmarkGate(benchmark(), PythonStudent(student), concurrency=4, **kw)  # type: ignore[arg-type]


def test_unchanged_tasks_are_not_run_and_named_in_the_verdict(homes) -> None:
    base, cand = homes
    others = {f"{c}-{i:03d}" for c in ("units", "dates") for i in range(10)}
    verdict = gate().evaluate(edit("HELP\n"), baseline=base,
                              candidate=with_prompt(cand, "HELP\n"), unchanged=others)  # fmt: skip
    assert verdict.accepted and verdict.outcome == "accept", verdict.report
    assert set(verdict.unchanged) == others
    assert {tid for tid, _ in CALLS} == {f"target-{i:03d}" for i in range(10)}
    assert verdict.runs_used == 20
    assert "'units': not changed by the edit (10 tasks unchanged)" in verdict.reason


def test_without_the_declaration_the_same_edit_is_inconclusive_and_says_why(homes) -> None:
    base, cand = homes
    verdict = gate().evaluate(edit("HELP\n"), baseline=base, candidate=with_prompt(cand, "HELP\n"))
    assert not verdict.accepted and verdict.outcome == "inconclusive"
    assert verdict.unchanged == ()  # a python student reads the whole home: nothing is safe
    assert "not enough to rule out a 0.10 drop, needs ≥" in verdict.reason
    assert verdict.report.startswith("REJECT (inconclusive)")


def test_fingerprint_scopes(homes) -> None:
    base, cand = homes
    tasks = benchmark().tasks
    py = PythonStudent(student)
    same = fingerprint_unchanged(py)
    assert same(base, cand, tasks) == {t.id for t in tasks}  # identical homes
    with_prompt(cand, "HELP\n")
    assert same(base, cand, tasks) == set()  # home scope: any byte changed
    # a change outside every task's view: another model's parameter
    with_prompt(cand, "plain\n")
    config = cand.root / "config.toml"
    config.write_text(config.read_text() + '\n[models."other-model"]\ntemperature = 0.9\n')
    assert fingerprint_unchanged(py)(base, cand, tasks) == set()
    assert fingerprint_unchanged(py, scope="view")(base, cand, tasks) == {t.id for t in tasks}


def test_repeats_run_each_task_r_times_per_spec(homes) -> None:
    base, cand = homes
    others = {f"{c}-{i:03d}" for c in ("units", "dates") for i in range(10)}
    verdict = gate(config=GateConfig(repeats=3)).evaluate(
        edit("HELP\n"), baseline=base, candidate=with_prompt(cand, "HELP\n"), unchanged=others
    )
    assert verdict.accepted
    assert len(CALLS) == verdict.runs_used == 3 * 2 * 10
    assert sum(1 for tid, _ in CALLS if tid == "target-000") == 6


def test_a_candidate_that_crashes_where_it_would_lose_is_not_accepted(homes) -> None:
    base, cand = homes
    # BREAK loses 'units' and 'dates' tasks 0-2; FAIL makes the candidate crash on exactly
    # those instead: dropping the errored pairs would show a perfect edit.
    verdict = gate(config=GateConfig(max_error_rate=0.5)).evaluate(
        edit("HELP BREAK FAIL\n"), baseline=base,
        candidate=with_prompt(cand, "HELP BREAK FAIL\n"),
    )  # fmt: skip
    decision = verdict.decision
    assert decision is not None and decision.errors > 0
    assert not verdict.accepted
    assert "errored (counted as losses)" in verdict.reason
