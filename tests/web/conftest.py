"""The review page's fixtures: a quickstart home, ``specdistill view`` running on it (a
real subprocess, :mod:`web_helpers`), and headless chromium (skipped, saying why, when
Debian's chromium or its driver is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checkpoint_helpers import isolate_git
from specdistill.example.quickstart import run_quickstart
from web_helpers import CHROMEDRIVER, CHROMIUM, URL_LINE, LiveView, start_view, stop


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


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless chromium through its chromedriver (skipped when either is absent)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "chromium and chromedriver are not installed (Debian: apt-get install chromium "
            "chromium-driver; scripts/test installs them when it can)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
