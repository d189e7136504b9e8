"""An OpenJarvis plan's edits name a *failure cluster* in ``expected_improvement``
(``"c1"``), not a benchmark cluster: the plan screen resolves each to the query class of
most of that cluster's sample traces in the home's ``traces.db`` (else the one benchmark
cluster its id or description names), records it in the edit's ``benchmark_cluster``
and keeps ``expected_improvement`` as written; the gate, the reports and review measure
and show the resolved cluster. Unresolvable ids are refused, saying what was tried.
Fixture home and plan: FIXTURES.md (c1's samples t-003, t-004, t-007 are arithmetic:
``math``; c2's t-009 is a short question: ``short``). Real SQLite, git, Python student.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openjarvis_helpers import PLAN, SESSION_ID
from specdistill.cli import app
from specdistill.errors import InvalidEdit
from specdistill.models import Edit, EditOp, EditPillar, FailureCluster
from specdistill.screen import resolve_cluster

runner = CliRunner()
ENV = {"COLUMNS": "250"}
STUDENT = """
[specdistill.student]
kind = "python"
function = "openjarvis_helpers:calculator_student"
"""
CLUSTERS = ("code", "general", "math", "short")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def with_student(home: Path) -> Path:
    with (home / "config.toml").open("a") as config:
        config.write(STUDENT)
    return home


def loose_plan(home: Path, **cluster_c1: object) -> Path:
    """OpenJarvis's plan outside the home, the home without learning/ (so ``apply`` makes
    its own session); ``cluster_c1`` overrides fields of failure cluster c1."""
    plan = json.loads((home / PLAN).read_text())
    plan["failure_clusters"][0].update(cluster_c1)
    path = home.parent / "plan.json"
    path.write_text(json.dumps(plan))
    shutil.rmtree(home / "learning")
    return path


# -- through the CLI ---------------------------------------------------------------------------


def test_run_plan_measures_openjarvis_edits_on_the_resolved_clusters(oj_home: Path) -> None:
    home = with_student(oj_home)
    code, stdout, stderr = invoke("benchmark", "build", "--home", str(home))
    assert code == 0, stdout + stderr
    plan_file = home / PLAN
    written = plan_file.read_bytes()
    code, stdout, stderr = invoke(
        "run", "--plan", str(plan_file), "--home", str(home), "--gate", "mean", "--json"
    )
    assert code == 0, stdout + stderr
    assert plan_file.read_bytes() == written  # OpenJarvis's file is read, not rewritten
    sid = json.loads(stdout)["id"]
    session = home / "learning" / "sessions" / sid
    frozen = json.loads((session / "plan.json").read_text())
    assert [(e["expected_improvement"], e["benchmark_cluster"]) for e in frozen["edits"]] == [
        ("c1", "math"), ("c1", "math"), ("c2", "short"), ("c1", "math"), ("c1", "math")
    ]  # fmt: skip
    record = json.loads((session / "session.json").read_text())
    outcomes = {o["edit_id"]: o for o in record["edit_outcomes"]}
    # The calculator's description fixes arithmetic: measured on math, where it helps.
    assert outcomes["edit-001"]["status"] == "applied"
    assert outcomes["edit-001"]["cluster_deltas"]["math"] == 1.0
    assert "target 'math'" in outcomes["edit-001"]["gate_report"]
    assert "target 'short'" in outcomes["edit-003"]["gate_report"]
    assert outcomes["edit-005"]["status"] == "pending_review"
    report = (session / "report.md").read_text()
    assert "set_agent_param, auto tier; target cluster short" in report
    assert "target cluster c1" not in report
    # review shows what the gate will measure an approval on, and what OpenJarvis wrote.
    code, stdout, stderr = invoke("review", "show", f"{sid}:edit-005", "--home", str(home))
    assert code == 0, stdout + stderr
    assert "  expected improvement: c1" in stdout.splitlines()
    assert "  measured on: math" in stdout.splitlines()
    code, stdout, stderr = invoke(
        "review", "show", f"{sid}:edit-005", "--home", str(home), "--json"
    )
    shown = json.loads(stdout)
    assert (shown["expected_improvement"], shown["benchmark_cluster"]) == ("c1", "math")


def test_approving_an_edit_openjarvis_queued_measures_it_on_the_resolved_cluster(
    oj_home: Path,
) -> None:
    """OpenJarvis recorded this session itself: its queued edit-005 names failure cluster
    c1, which the approval's screen resolves (through traces.db) to 'math'."""
    home = with_student(oj_home)
    code, stdout, stderr = invoke("benchmark", "build", "--home", str(home))
    assert code == 0, stdout + stderr
    code, stdout, stderr = invoke(
        "approve", f"{SESSION_ID}:edit-005", "--gate", "mean", "--home", str(home),
        "--allow-dirty", "--json",
    )  # fmt: skip
    assert code == 0, stdout + stderr
    record = json.loads((home / "learning" / "sessions" / SESSION_ID / "session.json").read_text())
    [outcome] = [o for o in record["edit_outcomes"] if o["edit_id"] == "edit-005"]
    assert outcome["status"] in ("applied", "rejected_by_gate")  # the gate decided
    assert "target 'math'" in outcome["gate_report"]
    assert json.loads((home / PLAN).read_text())["edits"][4]["expected_improvement"] == "c1"


def test_apply_gate_resolves_openjarvis_failure_clusters(oj_home: Path) -> None:
    plan = loose_plan(with_student(oj_home))
    code, stdout, stderr = invoke(
        "apply", str(plan), "--home", str(oj_home), "--gate", "mean", "--json"
    )
    assert code == 0, stdout + stderr
    outcomes = {o["edit_id"]: o for o in json.loads(stdout)["outcomes"]}
    assert outcomes["edit-001"]["status"] == "applied", outcomes["edit-001"]
    assert outcomes["edit-001"]["cluster_deltas"]["math"] == 1.0
    assert "target 'math'" in outcomes["edit-001"]["gate_report"]
    assert "exact" in (oj_home / "tools" / "descriptions.toml").read_text().lower()


def test_an_unresolvable_failure_cluster_is_refused_saying_what_was_tried(oj_home: Path) -> None:
    # c1's samples now span three classes (math, code, short): no majority, and
    # "Arithmetic done without the calculator" names no benchmark cluster.
    plan = loose_plan(with_student(oj_home), sample_trace_ids=["t-003", "t-013", "t-009"])
    code, stdout, stderr = invoke("apply", str(plan), "--home", str(oj_home), "--gate", "mean")
    assert code == 2, stdout + stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert "edit-001" in error, error
    assert "'c1' is not a cluster of the benchmark" in error
    assert "sample traces t-003, t-013, t-009 have query classes" in error
    for found in ("math x1", "code x1", "short x1"):
        assert found in error
    assert "its id and description name none" in error
    assert not (oj_home / "benchmark.jsonl").exists()  # the one it built is removed
    assert not (oj_home / "tools").exists()


def test_description_naming_one_benchmark_cluster_resolves_when_traces_do_not(
    oj_home: Path,
) -> None:
    plan = loose_plan(
        with_student(oj_home),
        sample_trace_ids=["gone-1", "gone-2"],
        description="Math answered without the calculator",
    )
    code, stdout, stderr = invoke(
        "apply", str(plan), "--home", str(oj_home), "--gate", "mean", "--json"
    )
    assert code == 0, stdout + stderr
    outcome = json.loads(stdout)["outcomes"][0]
    assert "target 'math'" in outcome["gate_report"], outcome


# -- the rule (pure) ---------------------------------------------------------------------------


def edit(target: str, **extra: str) -> Edit:
    return Edit(
        id="e1", pillar=EditPillar.TOOLS, op=EditOp.EDIT_TOOL_DESCRIPTION,
        expected_improvement=target, **extra,
    )  # fmt: skip


def test_a_plan_of_ours_is_unaffected() -> None:
    ours = edit("math")
    assert resolve_cluster(ours, CLUSTERS, [FailureCluster(id="math")], {}) is ours
    assert ours.benchmark_cluster == "" and ours.gate_cluster == "math"


def test_majority_of_samples_wins_over_the_description() -> None:
    failure = FailureCluster(id="c1", description="short answers", sample_trace_ids=["a", "b", "c"])
    classes = {"a": "code", "b": "code", "c": "math"}
    resolved = resolve_cluster(edit("c1"), CLUSTERS, [failure], classes)
    assert (resolved.expected_improvement, resolved.benchmark_cluster) == ("c1", "code")
    assert resolved.gate_cluster == "code"
    # Half is not a majority: the description decides.
    classes = {"a": "code", "b": "math"}
    failure = failure.model_copy(update={"sample_trace_ids": ["a", "b"]})
    assert resolve_cluster(edit("c1"), CLUSTERS, [failure], classes).benchmark_cluster == "short"


def test_a_majority_class_the_benchmark_lacks_is_not_used() -> None:
    failure = FailureCluster(id="c1", sample_trace_ids=["a", "b"])
    with pytest.raises(InvalidEdit) as caught:
        resolve_cluster(edit("c1"), CLUSTERS, [failure], {"a": "long", "b": "long"})
    assert "have query classes long x2, no majority among the benchmark's clusters" in str(
        caught.value
    )


def test_several_clusters_named_is_refused() -> None:
    failure = FailureCluster(id="c1", description="math and code both")
    with pytest.raises(InvalidEdit) as caught:
        resolve_cluster(edit("c1"), CLUSTERS, [failure], {})
    message = str(caught.value)
    assert "it lists no sample traces" in message and "name several" in message


def test_an_id_that_is_no_failure_cluster_keeps_the_old_refusal() -> None:
    with pytest.raises(InvalidEdit) as caught:
        resolve_cluster(edit("c9"), CLUSTERS, [FailureCluster(id="c1")], {})
    assert "'c9' is not a cluster of the benchmark (the gate measures" in str(caught.value)
    assert caught.value.field == "expected_improvement"


def test_a_recorded_benchmark_cluster_is_checked() -> None:
    assert resolve_cluster(edit("c1", benchmark_cluster="math"), CLUSTERS).gate_cluster == "math"
    with pytest.raises(InvalidEdit) as caught:
        resolve_cluster(edit("c1", benchmark_cluster="poetry"), CLUSTERS)
    assert caught.value.field == "benchmark_cluster"


def test_the_recorded_session_plan_is_unchanged_on_disk(oj_home: Path) -> None:
    # Reading OpenJarvis's plan adds nothing to it: benchmark_cluster is written only by
    # the screen into plans specdistill freezes.
    code, stdout, stderr = invoke("show", SESSION_ID, "--home", str(oj_home), "--json")
    assert code == 0, stdout + stderr
    assert "benchmark_cluster" not in (oj_home / PLAN).read_text()
