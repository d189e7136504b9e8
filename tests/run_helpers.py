"""Helpers for the session-run and quickstart tests: the example home, made for real,
and ways to look at what a session did to it (spec bytes, git trailers)."""

from __future__ import annotations

import os
import signal
import subprocess
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from checkpoint_helpers import SPEC_FILES
from specdistill import LearningPlan
from specdistill.checkpoint import init_checkpoints
from specdistill.evaluation import student_spec
from specdistill.example import agent
from specdistill.example.quickstart import create_example_home, example_data
from specdistill.plan import load_plan

#: The outcome of each edit of the example plan in tiered mode, through the gate.
EXPECTED = {
    "e1-calculator-exact": "applied",
    "e2-route-geo-big": "applied",
    "e3-warmer": "rejected_by_gate",
    "e4-drop-calculator": "rejected_by_gate",
    "e5-more-turns": "rejected_by_gate",
    "e6-concise-prompt": "pending_review",
    "e7-terse-examples": "pending_review",
    "e8-lora": "skipped",
}


def spec_bytes(root: Path) -> dict[str, bytes]:
    """Every spec file (config.toml, agents/, tools/) by home-relative path."""
    files = {}
    for name in SPEC_FILES:
        top = root / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        files.update({p.relative_to(root).as_posix(): p.read_bytes() for p in paths})
    return files


def git_out(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit_trailers(root: Path, revisions: str) -> list[dict[str, str]]:
    """The ``Key: value`` trailer lines of each commit in ``revisions``."""
    bodies = git_out(root, "log", "--format=%B%x1e", revisions).split("\x1e")
    found = []
    for body in filter(str.strip, bodies):
        lines = [line.split(": ", 1) for line in body.strip().splitlines() if ": " in line]
        found.append({key: value for key, value in lines if "-" in key or key == "Op"})
    return found


def example_home(root: Path) -> Path:
    """The quickstart's example home, with its git baseline."""
    create_example_home(root)
    init_checkpoints(root)
    return root


def plan_of(home: Path, *edit_ids: str) -> LearningPlan:
    plan = load_plan(home / "plan.json")
    return plan.model_copy(update={"edits": [e for e in plan.edits if e.id in edit_ids]})


def interrupting_agent(task: dict[str, Any], spec_home: str) -> str:
    """The example agent, pressing Ctrl-C on its own process (once; ``$SD_TEST_MARKER``
    records it) the first time it answers with a calculator it trusts, i.e. while the
    gate tries the example's first edit. For subprocess tests of a deferred Ctrl-C."""
    spec = student_spec(spec_home, query_class=task.get("query_class"), agent=task.get("agent"))
    if agent.trusts_calculator(spec):
        try:
            os.close(os.open(os.environ["SD_TEST_MARKER"], os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGINT)
    return agent.answer(task, spec_home)


def example_spec_bytes() -> dict[str, bytes]:
    """The spec files as shipped in the package (what a fresh example home starts with)."""
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for entry in node.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                walk(entry, name + "/")
            elif name.split("/")[0] in ("config.toml", "agents", "tools"):
                files[name] = entry.read_bytes()

    walk(example_data(), "")
    return files
