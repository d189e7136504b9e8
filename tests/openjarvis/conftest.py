"""``oj_home``: a copy of ``home/`` (a home as ``jarvis init --full`` lays it out, with an
``agents/orchestrator/`` folder and one recorded OpenJarvis session) in ``tmp_path``, with
``traces.db`` built from ``traces.sql`` and the empty session folder OpenJarvis leaves
when a session stops at its too-few-traces check. Git is isolated to the test; neither
``$SPECDISTILL_HOME`` nor ``$OPENJARVIS_HOME`` is set. Sources: ``FIXTURES.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git
from openjarvis_helpers import copy_home


@pytest.fixture
def oj_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git(monkeypatch, tmp_path)
    monkeypatch.delenv("SPECDISTILL_HOME", raising=False)
    monkeypatch.delenv("OPENJARVIS_HOME", raising=False)
    return copy_home(tmp_path / ".openjarvis")
