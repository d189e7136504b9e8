"""Fixtures shared by the checkpoint tests: git without the machine's identity, and a
fresh spec home with its baseline commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git, make_home


@pytest.fixture(autouse=True)
def _no_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")
