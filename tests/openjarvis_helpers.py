"""Helpers for the tests on OpenJarvis's formats (fixtures in ``tests/openjarvis/``; where
each comes from: ``tests/openjarvis/FIXTURES.md``)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "openjarvis"
#: The session OpenJarvis recorded in the fixture home (cluster-triggered, awaiting review).
SESSION_ID = "session-20260822T101500_1a2b3c4d"
#: The folder OpenJarvis leaves when a session stops at its too-few-traces check.
STOPPED_SESSION_ID = "session-20260822T090000_0f0e0d0c"
PLAN = Path("learning") / "sessions" / SESSION_ID / "plan.json"


def build_traces_db(path: Path) -> Path:
    """A real SQLite traces.db from ``traces.sql`` (OpenJarvis's TraceStore schema)."""
    db = sqlite3.connect(path)
    try:
        db.executescript((FIXTURES / "traces.sql").read_text(encoding="utf-8"))
        db.commit()
    finally:
        db.close()
    return path


def copy_home(destination: Path) -> Path:
    """The fixture home at ``destination``, with its traces.db and the stopped session."""
    shutil.copytree(FIXTURES / "home", destination)
    build_traces_db(destination / "traces.db")
    (destination / "learning" / "sessions" / STOPPED_SESSION_ID).mkdir()
    return destination


EXACT = "exact"


def calculator_student(task: dict[str, Any], home: str) -> str:
    """A student on an OpenJarvis home: arithmetic ('calculate', 'compute', 'solve') comes
    out right only once ``tools/descriptions.toml`` calls the calculator exact; it knows
    nothing else."""
    descriptions = Path(home) / "tools" / "descriptions.toml"
    exact = descriptions.is_file() and EXACT in descriptions.read_text().lower()
    numbers = [int(n) for n in re.findall(r"\d+", task["input"])]
    text = task["input"].lower()
    if "solve" in text and len(numbers) >= 3:
        answer = (numbers[2] - numbers[1]) // numbers[0]
    elif len(numbers) == 2:
        a, b = numbers
        answer = {"*": a * b, "/": a // b if b else 0, "+": a + b}.get(
            next((op for op in "*/+" if op in text), "+"), a + b
        )
    else:
        return "I do not know"
    return str(answer if exact else answer + 1)
