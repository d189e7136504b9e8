"""The review page's fixtures: a quickstart home, ``specdistill view`` running on it (a
real subprocess, :mod:`web_helpers`), and headless chromium (skipped, saying why, when
Debian's chromium or its driver is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git
from specdistill.example.quickstart import run_quickstart
from web_helpers import URL_LINE, LiveView, start_view, stop


@pytest.fixture
def quickstart_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The quickstart's home after its session (two edits queued) and that session's id."""
    isolate_git(monkeypatch, tmp_path)
    result = run_quickstart(tmp_path / "demo", notify=None)
    return result.home, result.session.id


@pytest.fixture
def live(quickstart_home: tuple[Path, str]) -> Iterator[LiveView]:
    home, session_id = quickstart_home
    proc, line = start_view(home)
    match = URL_LINE.match(line)
    assert match, f"unexpected first line: {line!r}"
    view = LiveView(home, session_id, line, int(match.group(1)), match.group(2), proc)
    try:
        yield view
    finally:
        err = stop(proc)
        assert "Traceback" not in err, err
