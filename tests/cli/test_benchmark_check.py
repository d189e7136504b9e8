"""``specdistill benchmark check``: per cluster, the fewest tasks that can prove an
improvement and rule out a regression with the current settings, against the benchmark's
counts. The figures come from the gate's own tests (``gate.min_tasks``), so they move
with the settings; nothing is run (the student's endpoint is a closed port)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval_helpers import closed_port
from gate_helpers import make_home, write_benchmark
from specdistill.cli import app
from specdistill.gate import GateConfig, min_tasks


@pytest.fixture
def home(tmp_path: Path) -> Path:
    url = f"http://127.0.0.1:{closed_port()}/v1"  # nothing may be asked of the student
    return make_home(tmp_path / "home", url, per_cluster=10).root


def check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["benchmark", "check", *args], env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_json_holds_each_cluster_against_the_gates_own_figures(home: Path) -> None:
    code, output = check("--home", str(home), "--json")
    assert code == 0, output
    data = json.loads(output)
    sizing = min_tasks()
    assert data["needs"] == {
        "target_wins": sizing.efficacy_wins,
        "cluster_ties": sizing.cluster_ties,
        "pooled_ties": sizing.pooled_ties,
    }
    assert data["tasks"] == 30 and data["fingerprint_scope"] == "view"
    assert [c["cluster"] for c in data["clusters"]] == ["dates", "target", "units"]
    for c in data["clusters"]:
        assert (c["tasks"], c["can_be_target"], c["can_be_guarded"]) == (10, True, False)
        assert (c["others"], c["others_need"]) == (20, sizing.off_target_ties(2))
        assert c["others_guarded"] is False
    assert any("only edits that leave them unchanged can pass" in p for p in data["problems"])


def test_the_table_says_what_each_cluster_can_prove(home: Path) -> None:
    code, output = check("--home", str(home))
    assert code == 0, output
    assert "30 tasks" in output and "eps 0.10" in output
    assert "≥ 7 better" in output and "≥ 26 tied" in output and "20 / ≥ 52 tied" in output
    assert "'units' has 10 tasks: an edit that changes them cannot rule out a 0.10 drop" in (
        " ".join(output.split())
    )
    assert "clusters whose tasks an edit leaves unchanged need nothing" in output


def test_the_figures_follow_the_settings_and_the_benchmark_option(
    home: Path, tmp_path: Path
) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text() + "\n[specdistill.gate]\neps = 0.3\n")
    bigger = write_benchmark(tmp_path / "bigger.jsonl", per_cluster=40)
    code, output = check("--home", str(home), "--benchmark", str(bigger), "--json")
    assert code == 0, output
    data = json.loads(output)
    sizing = min_tasks(GateConfig(eps=0.3))
    assert data["needs"]["cluster_ties"] == sizing.cluster_ties < min_tasks().cluster_ties
    assert data["tasks"] == 120 and data["problems"] == []
    assert data["benchmark"] == str(bigger)
    code, output = check("--home", str(home), "--benchmark", str(bigger))
    assert "ready: every cluster can be a target" in output


def test_a_bad_benchmark_is_one_line_and_exit_2(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"}\n')
    code, output = check("--home", str(home), "--benchmark", str(broken))
    assert code == 2
    assert output.startswith("error:") and "broken.jsonl" in output
