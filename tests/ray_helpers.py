"""A real local Ray cluster for tests and benchmarks: ``ray start --head --block`` on
127.0.0.1 in its own temp dir, started and stopped by process id.

``ray stop`` would end every Ray process of this user on the machine (it matches by
name); this helper ends only what it started: the ``ray start --block`` process (which
takes its children down when it exits) and then any process whose command line names
this cluster's own temp dir, by pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cluster_pids(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker`` (this cluster's dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


@dataclass
class LocalCluster:
    """A running head node: ``address`` (host:port) for ``ray.init`` / the runner setting."""

    address: str
    temp_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        return cluster_pids(str(self.temp_dir))


def _ready(address: str, deadline: float) -> None:
    host, port = address.split(":")
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"ray head at {address} did not come up")


@contextlib.contextmanager
def local_cluster(num_cpus: int = 2) -> Iterator[LocalCluster]:
    """Start a head node with ``num_cpus`` CPUs; stop it (and everything it started) after."""
    # Unix socket paths live under the temp dir and must stay short (< 108 bytes).
    temp_dir = Path(tempfile.mkdtemp(prefix="rt17_", dir="/tmp"))
    port = free_port()
    log = temp_dir.with_suffix(".log")
    argv = [
        str(RAY), "start", "--head", "--block",
        f"--port={port}", "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}",
        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    cluster = LocalCluster(f"127.0.0.1:{port}", temp_dir, process, log)
    try:
        _ready(cluster.address, time.monotonic() + 60)
        yield cluster
    finally:
        stop(cluster)


def stop(cluster: LocalCluster) -> None:
    """End the ``ray start --block`` process, then any leftover of this cluster, by pid."""
    if cluster.process.poll() is None:
        cluster.process.send_signal(signal.SIGTERM)
        try:
            cluster.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cluster.process.kill()
            cluster.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while (left := cluster.pids()) and time.monotonic() < deadline:
        time.sleep(0.3)
    for pid in cluster.pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)
    del left
