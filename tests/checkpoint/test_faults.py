"""Fault injection: SIGKILL a real process at every step of an edit, a rollback and a
checkpoint commit, recover in a new process, and check the spec is consistent.

Each run: a fresh home (baseline commit), a child process applying a three-edit plan
(edit 2 writes two files, through a test applier on FileEditApplier) or rolling the
session back, killed by ``SPECDISTILL_FAULT_POINT=<point>@<n>`` (see
:mod:`specdistill.checkpoint.faults`); then ``specdistill recover`` in a new process.
Consistent means:

* ``git status`` of the whole repository is clean (work tree = index = HEAD);
* every commit after the baseline has exactly the tree of the same step of an
  uninterrupted reference run: no partial edit ever reached a commit;
* the number of edit commits is what the kill point implies (an edit killed before
  its commit is gone, one killed after it is kept);
* no journal, lock or temp file is left; and the home is usable: applying the plan
  again ends in the reference's final state.

The tally ("N kill points, M runs, 0 inconsistencies") is printed at the end; set
``SPECDISTILL_FAULT_REPS`` to repeat every kill point more often.
"""

from __future__ import annotations

import os
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from checkpoint_helpers import (
    TWO_FILE_APPLIER,
    apply_in_child_code,
    child_env,
    describe_calculator,
    git,
    isolate_git,
    make_home,
    plan,
    run_python,
    temperature,
    two_file_edit,
    write_plan,
)
from specdistill.apply import apply_plan
from specdistill.checkpoint import rollback_session
from specdistill.checkpoint.faults import FAULT_POINTS

REPS = int(os.environ.get("SPECDISTILL_FAULT_REPS", "2"))
SESSION = "s-fault"


def _plan():
    return plan(
        temperature(0.0, id="e1"),
        two_file_edit("react", id="e2"),
        describe_calculator('Exact "arithmetic".', id="e3"),
        session_id=SESSION,
    )


def _registry():
    namespace: dict = {}
    exec(TWO_FILE_APPLIER, namespace)
    return namespace["registry"]()


@dataclass(frozen=True)
class Scenario:
    point: str  # "<name>@<n>"
    phase: str  # "apply", "rollback" or "manual"
    #: edit commits expected after recovery (apply), or whether the rollback landed
    expected: int


SCENARIOS = [
    *(Scenario(f"edit:before-write@{n}", "apply", n - 1) for n in (1, 2, 3)),
    Scenario("edit:between-files@1", "apply", 1),  # edit 2 is the two-file edit
    *(Scenario(f"edit:after-write@{n}", "apply", n - 1) for n in (1, 2, 3)),
    *(Scenario(f"edit:after-commit@{n}", "apply", n) for n in (1, 2, 3)),
    *(Scenario(f"edit:after-index@{n}", "apply", n) for n in (2, 3)),
    Scenario("rollback:before-write@1", "rollback", 0),
    Scenario("rollback:between-files@1", "rollback", 0),
    Scenario("rollback:after-write@1", "rollback", 0),
    Scenario("rollback:after-commit@1", "rollback", 1),
    Scenario("checkpoint:after-commit@1", "manual", 1),
]


def test_every_fault_point_is_exercised() -> None:
    assert {s.point.split("@")[0] for s in SCENARIOS} == set(FAULT_POINTS)


@pytest.fixture
def template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home with its baseline commit, copied for every run."""
    isolate_git(monkeypatch, tmp_path)
    return make_home(tmp_path / "template")


@pytest.fixture
def reference(tmp_path: Path, template: Path) -> list[str]:
    """Trees of an uninterrupted run: [baseline, after e1, after e2, after e3]."""
    home = shutil.copytree(template, tmp_path / "reference", symlinks=True)
    report = apply_plan(_plan(), home, mode="auto", registry=_registry(), checkpoint=True)
    assert len(report.commits) == 3
    return [git(home, "rev-parse", f"HEAD~{k}^{{tree}}").strip() for k in (3, 2, 1, 0)]


def _trees_after(repo: Path, since: str) -> list[str]:
    return git(repo, "log", "--reverse", "--format=%T", f"{since}..HEAD").split()


def _leftovers(home: Path) -> list[str]:
    found = [p for p in ("learning/journal/intent.json", "learning/lock") if (home / p).exists()]
    for path in home.rglob(".*.tmp"):
        if ".git" not in path.parts:
            found.append(path.relative_to(home).as_posix())
    return found


def _run(
    scenario: Scenario, rep: int, root: Path, template: Path, reference: list[str]
) -> list[str]:
    """One kill and recovery; returns the inconsistencies found (empty when consistent)."""
    home = shutil.copytree(template, root / "home", symlinks=True)
    baseline = git(home, "rev-parse", "HEAD").strip()
    plan_file = write_plan(root / "plan.json", _plan())
    env = child_env({"SPECDISTILL_FAULT_POINT": scenario.point})
    problems: list[str] = []

    if scenario.phase == "apply":
        child = run_python(apply_in_child_code(home, plan_file), env=env)
    elif scenario.phase == "rollback":
        apply_plan(_plan(), home, mode="auto", registry=_registry(), checkpoint=True)
        code = "from specdistill.checkpoint import rollback_session as r; r({!r}, {!r})"
        child = run_python(code.format(str(home), SESSION), env=env)
    else:  # a hand edit committed by --allow-dirty as "manual changes"
        config = home / "config.toml"
        config.write_text(config.read_text() + "# hand edit\n")
        child = run_python(
            apply_in_child_code(home, plan_file).replace(
                "checkpoint=True", "checkpoint=True, allow_dirty=True"
            ),
            env=env,
        )
    if child.returncode != -signal.SIGKILL:
        return [f"child was not killed (exit {child.returncode}): {child.stderr[-300:]}"]

    # recovery in a new process (what the next command does first)
    recovered = run_python(
        f"from specdistill.checkpoint import recover_home; recover_home({str(home)!r})"
    )
    if recovered.returncode != 0:
        return [f"recover failed: {recovered.stderr}"]
    if git(home, "status", "--porcelain", "--untracked-files=all"):
        problems.append("git status not clean: " + git(home, "status", "--porcelain"))
    if leftovers := _leftovers(home):
        problems.append(f"left behind: {leftovers}")
    trees = _trees_after(home, baseline)

    if scenario.phase == "apply":
        if trees != reference[1 : 1 + scenario.expected]:
            problems.append(f"commits' trees {trees} != reference prefix of {scenario.expected}")
        if rep > 0:
            return problems  # the home's usability is checked once per kill point
        apply_plan(_plan(), home, mode="auto", registry=_registry(), checkpoint=True)
    elif scenario.phase == "rollback":
        landed = len(trees) == 6
        if trees[:3] != reference[1:] or landed != bool(scenario.expected):
            problems.append(f"rollback state wrong: {len(trees)} commits")
        if landed and trees[-1] != reference[0]:
            problems.append("the rollback's last commit does not restore the baseline tree")
        if not landed:
            rollback_session(home, SESSION, notify=None)
        head_tree = git(home, "rev-parse", "HEAD^{tree}").strip()
        if head_tree != reference[0]:
            problems.append("rolling back again did not restore the baseline")
        return problems
    else:
        manual = git(home, "log", "-1", "--format=%(trailers:key=Specdistill-Checkpoint)").strip()
        if "manual-changes" not in manual or "# hand edit" not in git(
            home, "show", "HEAD:config.toml"
        ):
            problems.append("the manual-changes commit did not survive")
        return problems

    if git(home, "rev-parse", "HEAD^{tree}").strip() != reference[3]:
        problems.append("applying again after recovery did not reach the final state")
    return problems


@pytest.mark.slow
def test_sigkill_at_every_step_leaves_a_consistent_spec(
    tmp_path: Path, template: Path, reference: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [(s, rep) for s in SCENARIOS for rep in range(REPS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            pool.submit(_run, s, rep, tmp_path / f"{s.point}-{rep}", template, reference): (
                s,
                rep,
            )
            for s, rep in runs
        }
        failures = {
            f"{s.point} (run {rep})": problems
            for future, (s, rep) in futures.items()
            if (problems := future.result())
        }
    tally = f"{len(SCENARIOS)} kill points, {len(runs)} runs, {len(failures)} inconsistencies"
    with capsys.disabled():
        print(f"\nfault injection: {tally}")
    assert not failures, f"{tally}: {failures}"
