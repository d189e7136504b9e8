"""Serve the review page: a loopback socket, a fresh secret, uvicorn.

The socket is bound here (127.0.0.1 only; port 0 picks a free one) before uvicorn
starts, so the URL printed — with the run's token — names the real port.
"""

from __future__ import annotations

import signal
import socket
import webbrowser
from collections.abc import Callable
from pathlib import Path

from specdistill.apply import require_spec_home
from specdistill.errors import InvalidInput
from specdistill.home import SpecHome, default_home
from specdistill.web.app import create_app
from specdistill.web.security import LOOPBACK, RunSecrets


def bind_loopback(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:``port`` (0: any free port)."""
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--port {port} is not a TCP port (0 picks a free one)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise InvalidInput(
            f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}",
            hint="choose another --port, or --port 0 for any free one",
        ) from None
    sock.set_inheritable(False)
    return sock


def serve(
    home: Path | None,
    *,
    port: int = 0,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the review page of ``home`` (None: ``$SPECDISTILL_HOME``, else the current
    directory) on 127.0.0.1 until interrupted (Ctrl-C).

    ``announce`` receives the URL to open (it carries the run's secret token).
    """
    import uvicorn

    spec = SpecHome(home if home is not None else default_home())
    require_spec_home(spec)  # a clear error before anything listens
    root = spec.root
    sock = bind_loopback(port)
    secrets = RunSecrets(port=sock.getsockname()[1])
    app = create_app(root, secrets)
    url = secrets.url("/queue")
    announce(url)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,  # never trust X-Forwarded-*: nothing sits in front of us
        lifespan="off",
        ws="none",
    )
    server = uvicorn.Server(config)

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    # Until uvicorn installs its own handlers (and after it re-raises the signal it caught
    # on the way out), a Ctrl-C or SIGTERM asks for a clean stop instead of raising
    # KeyboardInterrupt into a half-built event loop.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


__all__ = ["bind_loopback", "serve"]
