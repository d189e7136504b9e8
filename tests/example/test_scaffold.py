"""``specdistill init [--student KIND]``: a working home for your own agent, committed as
the baseline, with the next three commands printed runnable as printed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git
from specdistill import commands
from specdistill.evaluation.benchmark import load_benchmark
from specdistill.evaluation.settings import student_from_config
from specdistill.example.scaffold import STUDENT_KINDS
from specdistill.gate import min_tasks
from specdistill.plan import load_plan
from specdistill.screen import screen_plan

#: Every key of each kind's block, with the default the block shows.
KEYS = {
    "command": {"kind": '"command"', "argv": "[", "timeout": "120", "fingerprint_scope": '"view"'},
    "python": {"kind": '"python"', "function": '"agent:answer"', "timeout": "120",
               "fingerprint_scope": '"view"'},
    "openai": {"kind": '"openai"', "base_url": '"http://localhost:11434/v1"',
               "timeout": "120"},
}  # fmt: skip


@pytest.fixture(autouse=True)
def _git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, tmp_path, ("T", "t@example.com"))


@pytest.mark.parametrize("kind", STUDENT_KINDS)
def test_init_fills_in_the_chosen_student_and_comments_the_others(
    tmp_path: Path, kind: str
) -> None:
    home = tmp_path / "home"
    commands.init(home, student=kind)
    text = (home / "config.toml").read_text()
    config = tomllib.loads(text)
    assert config["specdistill"]["student"]["kind"] == kind
    for other, keys in KEYS.items():
        for key, default in keys.items():
            prefix = "" if other == kind else "# "
            pattern = rf"^{re.escape(prefix)}{key} = {re.escape(default)}"
            assert re.search(pattern, text, re.M), (kind, other, key)
    assert re.search(r'^# (# )?api_key_env = "OPENAI_API_KEY" +# default none', text, re.M)
    env = {"SPECDISTILL_STUDENT_BASE_URL": "http://127.0.0.1:9/v1"}
    assert student_from_config(home, environ=env).kind == kind
    assert (home / "agent.py").exists() == (kind != "openai")
    # the agent's temperature no longer shadows the model's (one precedence rule)
    assert "temperature" not in config["agent"]["assistant"]


def test_the_benchmark_skeleton_is_sized_as_the_gate_needs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    commands.init(home)
    bench = load_benchmark(home / "benchmark.jsonl")
    counts = {c: sum(t.cluster == c for t in bench.tasks) for c in bench.clusters}
    sizing = min_tasks()
    assert sizing.shortfalls(counts) == []  # every cluster can be a target and be guarded
    assert min(counts.values()) == max(sizing.efficacy_wins or 0, sizing.cluster_ties or 0,
                                       sizing.pooled_ties or 0)  # fmt: skip
    # ... and not larger than that: one task fewer and the gate could not prove it
    assert sizing.shortfalls({c: n - 1 for c, n in counts.items()}) != []


def test_the_plan_template_passes_the_screen_and_init_commits_the_baseline(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    result = commands.init(home)
    assert any("baseline" in note for note in result.notes)
    clusters = load_benchmark(home / "benchmark.jsonl").clusters
    plan = screen_plan(load_plan(home / "plan.json"), home, clusters=clusters)
    assert [e.op.value for e in plan.edits] == ["add_tool_to_agent"]
    status = subprocess.run(["git", "status", "--porcelain", "config.toml", "agents", "tools"],
                            cwd=home, capture_output=True, text=True, check=True)  # fmt: skip
    assert status.stdout == "", "the spec is committed: the first run is not refused"
    again = commands.init(home, student="python")
    assert again.created == [] and (home / "config.toml") in again.kept


def test_the_python_student_gets_the_same_spec(tmp_path: Path) -> None:
    """The scaffold's python agent answers from the ``spec`` argument it is given."""
    home = tmp_path / "home"
    commands.init(home, student="python")
    run = commands.bench_run(home, use_cache=False)
    assert run.snapshot is not None, run.error
    scores = {s.cluster: s.mean for s in run.summaries if s.cluster != "(overall)"}
    assert scores == {"arithmetic": 0.0, "echo": 1.0}


def test_unknown_student_kind_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "specdistill.cli", "init", "--student", "openia",
         "--home", str(tmp_path / "h")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "use one of: command, python, openai" in result.stderr
    assert not (tmp_path / "h").exists()


def test_init_prints_the_next_three_commands_runnable_as_invoked(tmp_path: Path) -> None:
    """Run as ``<venv>/bin/specdistill`` by path: the printed commands use that path."""
    script = Path(sys.executable).parent / "specdistill"
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig")}  # fmt: skip
    result = subprocess.run(
        [str(script), "init"], cwd=home, capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("next:\n", 1)[1].splitlines()
    printed = [line.strip().split("   #")[0] for line in lines if line.strip()]
    assert printed == [f"{script} benchmark run", f"{script} run --plan plan.json", f"{script} log"]
    # the first one runs as printed
    bench = subprocess.run(printed[0].split(), cwd=home, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert bench.returncode == 0, bench.stderr
    assert json.loads((home / "plan.json").read_text())["edits"]
