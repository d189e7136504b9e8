"""Commands on an OpenJarvis home without ``--traces`` or a benchmark: ``traces check``
and ``benchmark build`` read the home's ``traces.db`` as ``run`` does (and say so in one
line); ``apply --gate`` with no benchmark builds one from it (and says so), while a home
that has a benchmark is gated on it unchanged. Fixture home: FIXTURES.md; a real Python
student (``openjarvis_helpers:calculator_student``), real SQLite, real git."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openjarvis_helpers import PLAN
from specdistill.cli import app
from specdistill.evaluation.benchmark import load_benchmark

runner = CliRunner()
ENV = {"COLUMNS": "250"}

STUDENT = """
[specdistill.student]
kind = "python"
function = "openjarvis_helpers:calculator_student"
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def said(stderr: str, line: str) -> bool:
    """``line`` is one whole line of what the command said."""
    return line in stderr.splitlines()


# -- traces check / benchmark build ----------------------------------------------------------


def test_traces_check_without_traces_reads_the_home_traces_db(oj_home: Path) -> None:
    code, stdout, stderr = invoke("traces", "check", "--home", str(oj_home), "--json")
    assert code == 0, stdout + stderr
    db = oj_home / "traces.db"
    assert said(stderr, f"no --traces given: using the OpenJarvis traces database {db}")
    report = json.loads(stdout)
    assert report["total"] == 24
    classes = {name: row["total"] for name, row in report["by_query_class"].items()}
    assert classes == {"code": 4, "general": 6, "math": 7, "short": 7}


def test_traces_check_reads_db_path_from_the_openjarvis_config(oj_home: Path) -> None:
    moved = oj_home / "data" / "my-traces.db"
    moved.parent.mkdir()
    (oj_home / "traces.db").rename(moved)
    config = oj_home / "config.toml"
    config.write_text(
        config.read_text().replace(
            "[traces]\nenabled = true", '[traces]\ndb_path = "data/my-traces.db"'
        )
    )
    code, stdout, stderr = invoke("traces", "check", "--home", str(oj_home))
    assert code == 0, stdout + stderr
    assert said(stderr, f"no --traces given: using the OpenJarvis traces database {moved}")
    assert "24 traces" in stdout


def test_benchmark_build_without_traces_reads_the_home_traces_db(oj_home: Path) -> None:
    code, stdout, stderr = invoke("benchmark", "build", "--home", str(oj_home))
    assert code == 0, stdout + stderr
    assert said(
        stderr, f"no --traces given: using the OpenJarvis traces database {oj_home / 'traces.db'}"
    )
    target = oj_home / "benchmark.jsonl"  # the home's default benchmark path
    assert f"wrote 17 tasks to {target}" in stdout
    clusters = {task.cluster for task in load_benchmark(target).tasks}
    assert clusters == {"math", "short", "code", "general"}


def test_an_explicit_traces_file_is_read_without_a_notice(oj_home: Path) -> None:
    copy = oj_home.parent / "elsewhere.db"
    shutil.copy(oj_home / "traces.db", copy)
    code, stdout, stderr = invoke("traces", "check", "--traces", str(copy), "--home", str(oj_home))
    assert code == 0, stdout + stderr
    assert "OpenJarvis traces database" not in stderr


@pytest.mark.parametrize("command", [["traces", "check"], ["benchmark", "build"]])
def test_without_any_traces_source_the_error_is_one_line(oj_home: Path, command: list[str]) -> None:
    (oj_home / "traces.db").unlink()
    code, stdout, stderr = invoke(*command, "--home", str(oj_home))
    assert code == 2 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 2, stderr
    assert lines[0].startswith("error: Missing option '--traces'")
    assert lines[1].startswith("hint: pass --traces FILE")
    assert "OpenJarvis traces database" not in stderr
    assert not (oj_home / "benchmark.jsonl").exists()


# -- apply --gate ----------------------------------------------------------------------------


def gated_plan(oj_home: Path, *, target: str = "math") -> Path:
    """OpenJarvis's plan cut to its calculator edit, aimed at a query class the benchmark
    has; the home as ``jarvis init`` left it (no learning/) with a student configured."""
    plan = json.loads((oj_home / PLAN).read_text())
    plan["edits"] = [plan["edits"][0] | {"expected_improvement": target}]
    path = oj_home.parent / "plan.json"
    path.write_text(json.dumps(plan))
    shutil.rmtree(oj_home / "learning")
    with (oj_home / "config.toml").open("a") as config:
        config.write(STUDENT)
    return path


def test_apply_gate_without_a_benchmark_builds_one_from_the_traces_db(oj_home: Path) -> None:
    plan = gated_plan(oj_home)
    code, stdout, stderr = invoke(
        "apply", str(plan), "--home", str(oj_home), "--gate", "mean", "--json"
    )
    assert code == 0, stdout + stderr
    target, db = oj_home / "benchmark.jsonl", oj_home / "traces.db"
    notices = [line for line in stderr.splitlines() if "benchmark" in line]
    assert notices == [
        f"no benchmark: built {target} (17 tasks) from the OpenJarvis traces database {db}"
    ]
    assert {task.cluster for task in load_benchmark(target).tasks} == {
        "math", "short", "code", "general"
    }  # fmt: skip
    # The gate measured the edit on it: the student gets math right once the calculator
    # is described as exact.
    [outcome] = json.loads(stdout)["outcomes"]
    assert outcome["status"] == "applied", outcome
    assert outcome["cluster_deltas"]["math"] == 1.0
    assert "ACCEPT after 17 pairs" in outcome["gate_report"]
    assert "exactly" in (oj_home / "tools" / "descriptions.toml").read_text()


def test_apply_gate_with_a_benchmark_present_uses_it_unchanged(oj_home: Path) -> None:
    plan = gated_plan(oj_home)
    code, stdout, stderr = invoke("benchmark", "build", "--home", str(oj_home))
    assert code == 0, stdout + stderr
    target = oj_home / "benchmark.jsonl"
    mine = [line for line in target.read_text().splitlines() if '"math"' in line]
    target.write_text("\n".join(mine) + "\n")  # only the math tasks: a benchmark of its own
    before = target.read_bytes()
    code, stdout, stderr = invoke(
        "apply", str(plan), "--home", str(oj_home), "--gate", "mean", "--json"
    )
    assert code == 0, stdout + stderr
    assert "no benchmark" not in stderr and "OpenJarvis traces database" not in stderr
    assert target.read_bytes() == before
    [outcome] = json.loads(stdout)["outcomes"]
    # Gated on the 4 math tasks left in the file, not the 17 traces.db would give.
    assert "ACCEPT after 4 pairs" in outcome["gate_report"], outcome
    assert set(outcome["cluster_deltas"]) == {"math"}


def test_apply_gate_dry_run_builds_a_scratch_benchmark_and_keeps_nothing(oj_home: Path) -> None:
    plan = gated_plan(oj_home)
    code, stdout, stderr = invoke(
        "apply", str(plan), "--home", str(oj_home), "--gate", "mean", "--dry-run"
    )
    assert code == 0, stdout + stderr
    [notice] = [line for line in stderr.splitlines() if line.startswith("no benchmark: built ")]
    assert notice.endswith("(dry run: not kept)")
    assert not (oj_home / "benchmark.jsonl").exists()
    assert not (oj_home / "tools").exists()


def test_apply_gate_refused_leaves_no_benchmark_behind(oj_home: Path) -> None:
    # An edit aimed at neither a benchmark cluster nor one of the plan's failure clusters
    # (those resolve: test_failure_cluster_targets.py) cannot be measured: refused whole.
    plan = gated_plan(oj_home, target="c9")
    code, stdout, stderr = invoke("apply", str(plan), "--home", str(oj_home), "--gate", "mean")
    assert code == 2, stdout + stderr
    assert "'c9' is not a cluster of the benchmark" in stderr
    assert not (oj_home / "benchmark.jsonl").exists()
    assert not (oj_home / "tools").exists()


def test_apply_gate_off_builds_nothing(oj_home: Path) -> None:
    plan = gated_plan(oj_home)
    code, stdout, stderr = invoke("apply", str(plan), "--home", str(oj_home))
    assert code == 0, stdout + stderr
    assert "no benchmark" not in stderr
    assert not (oj_home / "benchmark.jsonl").exists()
