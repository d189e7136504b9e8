"""``specdistill view`` as a command: the URL it prints, loopback only, one-line errors
for a directory that is not a spec home and a port already taken."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from specdistill.errors import InvalidInput
from specdistill.web.server import bind_loopback
from web_helpers import BIN, URL_LINE, LiveView


def test_the_server_listens_on_loopback_only(live: LiveView) -> None:
    assert URL_LINE.match(live.url)
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed: cannot list listening sockets")
    listening = subprocess.run(
        ["ss", "-Hltn"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    mine = [line.split() for line in listening if f":{live.port} " in line + " "]
    # one listening socket on that port, on 127.0.0.1 (not 0.0.0.0, not ::)
    assert [fields[3] for fields in mine] == [f"127.0.0.1:{live.port}"], mine


def test_bind_loopback_refuses_a_taken_port() -> None:
    taken = bind_loopback(0)
    try:
        port = taken.getsockname()[1]
        assert taken.getsockname()[0] == "127.0.0.1"
        with pytest.raises(InvalidInput, match=f"cannot listen on 127.0.0.1:{port}"):
            bind_loopback(port)
    finally:
        taken.close()


def test_view_on_a_directory_that_is_not_a_home_is_one_line_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(BIN), "view", "--home", str(tmp_path), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""  # no URL: nothing listens
    assert proc.stderr.startswith("error: ") and "is not a spec home" in proc.stderr


def test_view_help_names_its_options() -> None:
    proc = subprocess.run([str(BIN), "view", "--help"], capture_output=True, text=True, check=True)
    for option in ("--home", "--port", "--no-browser", "127.0.0.1"):
        assert option in proc.stdout
