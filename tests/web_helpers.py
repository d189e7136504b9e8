"""Helpers for the review page's tests: ``specdistill view`` started as a real
subprocess of the console script (:func:`start_view`, :func:`stop`) and what it printed
(:class:`LiveView`: the URL, its port and token, an httpx client admitted with it).
The fixtures using them are in ``tests/web/conftest.py``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "specdistill"
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/queue\?token=([A-Za-z0-9_-]{20,})$")


@dataclass
class LiveView:
    """A running ``specdistill view``: its home, the URL it printed, the process."""

    home: Path
    session_id: str
    url: str
    port: int
    token: str
    proc: subprocess.Popen[str]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def session_json(self) -> Path:
        return self.home / "learning/sessions" / self.session_id / "session.json"

    @contextmanager
    def client(self, *, admitted: bool = True) -> Iterator[httpx.Client]:
        """An HTTP client; ``admitted``: with the cookie the token URL sets."""
        with httpx.Client(base_url=self.origin, timeout=30) as client:
            if admitted:
                first = client.get(self.url)
                assert first.status_code == 303, first.text
                assert client.cookies.get(f"specdistill_view_{self.port}") == self.token
            yield client

    def csrf(self, client: httpx.Client) -> str:
        """The CSRF token of this run, read from a form of the queue page."""
        page = client.get("/queue").text
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match, page
        return match.group(1)


def start_view(home: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``specdistill view --home HOME --no-browser --port 0``; its process and the
    first line it printed on stdout (the URL)."""
    proc = subprocess.Popen(
        [str(BIN), "view", "--home", str(home), "--no-browser", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=30)
    if not line:
        proc.kill()
        raise AssertionError("specdistill view printed no URL within 30 s")
    return proc, line[0].strip()


def stop(proc: subprocess.Popen[str]) -> str:
    """Stop the server as Ctrl-C would; its stderr."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)  # reads and closes both pipes
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or ""
