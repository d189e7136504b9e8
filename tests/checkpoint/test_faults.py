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

import json
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
    run_cli,
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
    *(Scenario(f"edit:ref-locked@{n}", "apply", n - 1) for n in (1, 2, 3)),
    *(Scenario(f"edit:after-commit@{n}", "apply", n) for n in (1, 2, 3)),
    *(Scenario(f"edit:after-index@{n}", "apply", n) for n in (2, 3)),
    Scenario("rollback:before-write@1", "rollback", 0),
    Scenario("rollback:between-files@1", "rollback", 0),
    Scenario("rollback:after-write@1", "rollback", 0),
    Scenario("rollback:after-commit@1", "rollback", 1),
    Scenario("checkpoint:after-commit@1", "manual", 1),
]


def test_every_fault_point_is_exercised() -> None:
    points = {s.point.split("@")[0] for s in SCENARIOS}
    points |= {point.split("@")[0] for _, point in COMMAND_KILLS}
    assert points == set(FAULT_POINTS)


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


# -- every command kind after a kill of each multi-step command ------------------------------
#
# On the quickstart home (built once, copied per run): a real `specdistill` process running
# run / approve / reject / rollback / doctor --reindex is SIGKILLed at one of its steps; then
# every command kind runs, in an order rotated per kill so that each kind is the first one
# to meet the interrupted state. After each command (doctor only reads: it is checked at the
# end): the spec's files equal HEAD, every session.json equals its index row and outcomes,
# no session is left running, and each recorded outcome agrees with git (an edit is
# ``applied`` exactly when its commit is in the spec; a session whose commits are all
# reverted is rolled back). No command may print a traceback. Finally `doctor` is clean.

PLAN_EDIT = {
    "id": "p1",
    "op": "set_agent_param",
    "pillar": "agent",
    "target": "agents.assistant",
    "payload": {"agent": "assistant", "param": "max_turns", "value": 7},
    "rationale": "more turns",
    "expected_improvement": "arithmetic",
}

#: (command, kill point): the command's own steps, records included.
COMMAND_KILLS = [
    *(("run", p) for p in ("edit:before-write@1", "edit:after-write@1", "edit:after-commit@1",
                          "edit:after-index@1", "record:before-index@1",
                          "record:before-index@4")),
    *(("approve", p) for p in ("edit:before-write@1", "record:before-index@1")),
    ("reject", "record:before-index@1"),
    *(("rollback", p) for p in ("rollback:before-write@1", "rollback:after-write@1",
                               "rollback:after-commit@1", "record:before-index@1")),
    ("reindex", "reindex:before-replace@1"),
]  # fmt: skip


def _command_args(kind: str, home: Path, sid: str, plan_file: Path) -> list[str]:
    h = ["--home", str(home)]
    return {
        "log": ["log", *h],
        "history": ["history", *h],
        "show": ["show", sid, *h],
        "review": ["review", *h],
        "doctor": ["doctor", *h],
        "apply": ["apply", str(plan_file), "--mode", "auto", *h],
        "run": ["run", "--plan", str(plan_file), "--mode", "auto", "--gate", "off", *h],
        "approve": ["approve", f"{sid}:e6-concise-prompt", *h],
        "reject": ["reject", f"{sid}:e7-terse-examples", "--reason", "no", *h],
        "rollback": ["rollback", sid, *h],
        "reindex": ["doctor", "--reindex", *h],
        "bench run": ["bench", "run", "--no-cache", *h],
    }[kind]


FOLLOW_UPS = ["log", "history", "show", "review", "doctor", "apply", "run", "approve",
              "reject", "rollback", "bench run"]  # fmt: skip


def _disagreements(home: Path) -> list[str]:
    """What makes git, the work tree, session.json and the index disagree (empty: none)."""
    import json
    import sqlite3

    from specdistill.checkpoint import CheckpointStore

    problems = []
    if status := git(home, "status", "--porcelain", "--", "config.toml", "agents", "tools"):
        problems.append(f"spec files differ from HEAD: {status.strip()}")
    entries = CheckpointStore(home).log()
    reverted = {e.reverts_commit for e in entries if e.kind == "revert"}
    commits: dict[str, list[tuple[str | None, bool]]] = {}
    for e in entries:
        if e.kind == "edit" and e.session_id:
            commits.setdefault(e.session_id, []).append((e.edit_id, e.commit not in reverted))
    db = sqlite3.connect(home / "learning" / "learning.db")
    try:
        for path in sorted((home / "learning" / "sessions").glob("*/session.json")):
            record = json.loads(path.read_text())
            sid = record["id"]
            outcomes = [(o["edit_id"], o["status"]) for o in record["edit_outcomes"]]
            row = db.execute("SELECT status FROM sessions WHERE id = ?", (sid,)).fetchone()
            indexed = db.execute(
                "SELECT edit_id, status FROM edit_outcomes WHERE session_id = ? ORDER BY position",
                (sid,),
            ).fetchall()
            if row is None or row[0] != record["status"] or indexed != outcomes:
                problems.append(f"{sid}: index {row}, {indexed} != session.json "
                                f"{record['status']}, {outcomes}")  # fmt: skip
            if record["status"] in ("initiated", "diagnosing", "planning", "executing"):
                problems.append(f"{sid}: left {record['status']}")
            ours = commits.get(sid, [])
            live = {edit for edit, alive in ours if alive}
            applied = {edit for edit, status in outcomes if status == "applied"}
            if applied != live:
                problems.append(f"{sid}: applied {sorted(applied)} but in git {sorted(live)}")
            if ours and not live and record["status"] not in ("rolled_back", "failed"):
                problems.append(f"{sid}: reverted in git, recorded {record['status']}")
    finally:
        db.close()
    return problems


def _after_kill(index: int, kind: str, point: str, root: Path, template: Path) -> list[str]:
    home = shutil.copytree(template, root / "home", symlinks=True)
    sid = next(p.name for p in (home / "learning" / "sessions").iterdir())
    plan_file = root / "plan.json"
    plan_file.write_text(json.dumps({"edits": [PLAN_EDIT]}))
    env = child_env({"SPECDISTILL_FAULT_POINT": point})
    child = run_cli(*_command_args(kind, home, sid, plan_file), env=env)
    if child.returncode != -signal.SIGKILL:
        return [f"not killed (exit {child.returncode}): {child.stderr[-300:]}"]
    problems = []
    order = FOLLOW_UPS[index % len(FOLLOW_UPS) :] + FOLLOW_UPS[: index % len(FOLLOW_UPS)]
    for follow in order:
        result = run_cli(*_command_args(follow, home, sid, plan_file))
        if "Traceback" in result.stderr or result.returncode not in (0, 1, 2):
            problems.append(f"{follow}: exit {result.returncode}: {result.stderr[-400:]}")
        if follow != "doctor":
            problems += [f"after {follow}: {p}" for p in _disagreements(home)]
    doctor = run_cli("doctor", "--home", str(home))
    if doctor.returncode != 0 or " warn " in doctor.stdout or "error" in doctor.stdout:
        problems.append(f"doctor not clean: {doctor.stdout}")
    return problems


@pytest.mark.slow
def test_every_command_after_a_kill_of_each_multi_step_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from specdistill import commands

    template = tmp_path / "quickstart"
    commands.quickstart(template)
    runs = list(enumerate(COMMAND_KILLS))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            pool.submit(_after_kill, i, kind, point, tmp_path / f"k{i}", template): (kind, point)
            for i, (kind, point) in runs
        }
        failures = {
            f"{kind} killed at {point}": problems
            for future, (kind, point) in futures.items()
            if (problems := future.result())
        }
    commands_run = len(runs) * (len(FOLLOW_UPS) + 2)
    tally = (
        f"{len(COMMAND_KILLS)} kill points in run/approve/reject/rollback/reindex, "
        f"{commands_run} commands run after them, {len(failures)} inconsistencies"
    )
    with capsys.disabled():
        print(f"\nfault injection: {tally}")
    assert not failures, f"{tally}: {failures}"
