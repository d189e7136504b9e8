"""How long ``specdistill --help`` takes, against a bare ``import typer, rich``.

    .venv/bin/python bench/cli_startup.py [--runs 7]

Each figure is the median of ``--runs`` real subprocesses, run interleaved (one of each
per round) so that a busy machine slows all of them alike; wall time, and CPU time (user
+ system, from ``wait4``), which a machine shared with other jobs disturbs less:

- ``baseline``: ``python -c "import typer, rich"`` — the floor of any typer CLI;
- ``specdistill --help``: the console script, as a user runs it;
- ``python -m specdistill.cli --help``: the same app through ``-m``.

Bytecode is cached as in a normal install (``PYTHONDONTWRITEBYTECODE`` is dropped for the
runs; the caches go to a temporary ``PYTHONPYCACHEPREFIX``, written by a warm-up run), so
the figures are not those of compiling the sources every time.

The ratio of each to the baseline is what issue 9 bounds (at most 2.0). Rich's help
rendering itself (``typer.rich_utils``: rich.console, rich.markdown, markdown-it) is part
of every typer app's ``--help``, so the ratio cannot reach 1.0.

Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command``, output discarded; it must succeed."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    python = sys.executable
    script = Path(python).with_name("specdistill")
    commands = {
        "baseline (import typer, rich)": [python, "-c", "import typer, rich"],
        "specdistill --help": [str(script), "--help"],
        "python -m specdistill.cli --help": [python, "-m", "specdistill.cli", "--help"],
    }
    with tempfile.TemporaryDirectory(prefix="cli-startup-pycache-") as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"PYTHONPYCACHEPREFIX": pycache, "COLUMNS": env.get("COLUMNS", "100")}
        measure(commands, args.runs, env)


def measure(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> None:
    """Run each command ``runs`` times, interleaved, and print the medians and ratios."""
    for command in commands.values():  # warm the bytecode and the page cache
        timed(command, env)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu = timed(command, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    base = "baseline (import typer, rich)"
    wall0, cpu0 = statistics.median(walls[base]), statistics.median(cpus[base])
    print(f"median of {runs} runs each (interleaved)      wall            cpu")
    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"  {name:<34} {wall * 1000:6.1f} ms x{wall / wall0:.2f}"
            f"   {cpu * 1000:6.1f} ms x{cpu / cpu0:.2f}"
        )


if __name__ == "__main__":
    main()
