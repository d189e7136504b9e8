"""Choosing an executor without a cluster: the settings, Ray imported only when chosen
(and one line when it is missing), and the bounded spec snapshot a Ray run carries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval_helpers import make_home, task, write_jsonl
from specdistill.evaluation import EvaluationConfigError, TaskRunError, runner_settings
from specdistill.evaluation.executor import LocalExecutor
from specdistill.evaluation.ray_executor import _home_files, spec_snapshot, write_snapshot
from specdistill.evaluation.students import CommandStudent
from specdistill.home import SpecHome

SPECDISTILL = str(Path(sys.executable).with_name("specdistill"))


def runner_home(tmp_path: Path, lines: str) -> Path:
    return make_home(tmp_path / "home", extra_config=f"\n[specdistill.runner]\n{lines}\n")


def test_the_default_executor_is_local_and_ray_settings_are_read(tmp_path: Path) -> None:
    assert runner_settings(make_home(tmp_path / "a")).executor == "local"
    assert isinstance(runner_settings(make_home(tmp_path / "b")).make_executor(), LocalExecutor)
    settings = runner_settings(runner_home(tmp_path, 'executor = "ray"\naddress = "ray://h:10001"'))
    assert (settings.executor, settings.address) == ("ray", "ray://h:10001")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('executor = "dask"', "executor must be one of local, ray"),
        ("executor = 1", "executor must be one of local, ray"),
        ('address = ""', "address must be"),
        ('address = "ray://a b"', "address must be"),
        ('adress = "auto"', "did you mean 'address'"),
    ],
    ids=["unknown", "not-a-string", "empty-address", "space", "typo"],
)
def test_bad_executor_settings_are_one_line_errors(
    tmp_path: Path, lines: str, message: str
) -> None:
    with pytest.raises(EvaluationConfigError) as info:
        runner_settings(runner_home(tmp_path, lines))
    assert message in info.value.message and "\n" not in info.value.message


def run_without_ray(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where ``import ray`` fails, as if not installed."""
    prelude = "import sys; sys.modules['ray'] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=cwd, capture_output=True, text=True
    )


def test_without_ray_the_local_executor_works_and_ray_is_never_imported(tmp_path: Path) -> None:
    home = make_home(
        tmp_path / "home",
        extra_config='\n[specdistill.student]\nkind = "command"\nargv = ["cat"]\nagent = "alpha"\n',
    )
    write_jsonl(home / "benchmark.jsonl", [task("t", reference="x")])
    code = (
        "from specdistill.evaluation import bench_run\n"
        f"run = bench_run({str(home)!r}, use_cache=False)\n"
        "assert run.results[0].scored, run.results\n"
        "assert sys.modules['ray'] is None\n"  # still the blocker: nothing imported ray
        "print('ok')\n"
    )
    proc = run_without_ray(code, tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_choosing_ray_without_ray_installed_is_one_line_with_a_hint(tmp_path: Path) -> None:
    home = runner_home(tmp_path, 'executor = "ray"')
    write_jsonl(home / "benchmark.jsonl", [task("t")])
    code = (
        "from specdistill.cli import main\n"
        f"sys.argv = ['specdistill', 'bench', 'run', '--home', {str(home)!r}]\n"
        "main()\n"
    )
    proc = run_without_ray(code, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == (
        "error: [specdistill.runner] executor = 'ray' needs Ray, which is not installed"
    )
    assert "pip install 'specdistill[ray]'" in lines[1] and len(lines) == 2
    assert not (home / "learning" / "cache.db").exists()


def test_the_snapshot_is_the_spec_files_and_the_agent_never_learning(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    (home / "agent.py").write_text("print('hi')\n")
    (home / "notes.txt").write_text("not part of the spec")
    (home / "learning" / "cache.db").write_bytes(b"private")
    os.symlink("/etc/hostname", home / "tools" / "link.toml")
    student = CommandStudent([sys.executable, "agent.py", "--flag"], cwd=home)
    snapshot = spec_snapshot(SpecHome(home), _home_files(student, SpecHome(home)))
    assert sorted(snapshot) == [
        "agent.py",
        "agents/alpha/few_shot.json",
        "agents/alpha/system_prompt.md",
        "agents/beta/few_shot.json",
        "agents/beta/system_prompt.md",
        "config.toml",
        "tools/descriptions.toml",
    ]
    assert snapshot["config.toml"] == (home / "config.toml").read_bytes()
    out = tmp_path / "copy"
    out.mkdir()
    write_snapshot(snapshot, out)
    assert (out / "agents/alpha/system_prompt.md").read_text() == "You are alpha.\n"


def test_a_snapshot_is_bounded_and_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    home = SpecHome(make_home(tmp_path / "home"))
    with pytest.raises(EvaluationConfigError, match="exceed 100 bytes"):
        spec_snapshot(home, max_bytes=100)
    with pytest.raises(EvaluationConfigError, match="more than 3 files"):
        spec_snapshot(home, max_files=3)
    for name in ("../escape", "/abs", "a/../../b"):
        with pytest.raises(TaskRunError, match="refused path"):
            write_snapshot({name: b"x"}, tmp_path / "out")
    assert not (tmp_path / "escape").exists()
