"""Student runs on Ray against the local runner: a CPU-bound ``command`` student on 1, 2,
... Ray workers on this machine, the speed-up per worker, and the overhead Ray adds to
each run.

    .venv/bin/python bench/ray_scaleout.py [--tasks 24] [--work 0.25] [--workers 1 2]

The student is a real program (``python agent.py``: task JSON in, answer out) that burns
``--work`` seconds of CPU per task (sha256 rounds calibrated once on this machine), run
by the real runner (no cache) on a real spec home. ``local`` runs it with concurrency 1
and with concurrency k; ``ray`` starts a head node with k CPUs (``ray start --head
--block`` on 127.0.0.1, tests/ray_helpers.py) and runs every task as a Ray task with
concurrency k. The overhead rows run a student that does no work: an empty ``command``
(the cost of starting Python) and a ``python`` function returning at once, one run at a
time, so the per-run difference between ``ray`` and ``local`` is what Ray adds (submit,
schedule, ship task + view + spec snapshot, write it to a temp dir, answer back).

Figures go to stdout and to bench/results/ray_scaleout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from eval_helpers import make_home, task, write_jsonl  # noqa: E402
from ray_helpers import local_cluster  # noqa: E402
from specdistill.evaluation import (  # noqa: E402
    CommandStudent,
    PythonStudent,
    Runner,
    load_benchmark,
)
from specdistill.evaluation.executor import Executor, LocalExecutor  # noqa: E402
from specdistill.evaluation.ray_executor import RayExecutor  # noqa: E402

AGENT = """\
import hashlib, json, sys
doc = json.load(sys.stdin)
rounds = int(doc["task"]["metadata"]["rounds"])
h = doc["task"]["id"].encode()
for _ in range(rounds):
    h = hashlib.sha256(h).digest()
print(h.hex()[:8])
"""
IDLE = "import json, sys\njson.load(sys.stdin)\nprint('ok')\n"


def instant(task: dict, home: str) -> str:
    """A python student that does nothing: its runs cost only what carries them."""
    return "ok"


def calibrate(seconds: float) -> int:
    """sha256 rounds that take ``seconds`` of CPU here."""
    h, n, started = b"x", 200_000, time.process_time()
    for _ in range(n):
        h = hashlib.sha256(h).digest()
    return max(1, int(n * seconds / (time.process_time() - started)))


def make_bench_home(root: Path, tasks: int, rounds: int) -> tuple[Path, object]:
    home = make_home(root)
    (home / "agent.py").write_text(AGENT)
    (home / "idle.py").write_text(IDLE)
    lines = [
        task(f"t{i}", agent="alpha", scorer="contains", reference="", metadata={"rounds": rounds})
        for i in range(tasks)
    ]
    return home, load_benchmark(write_jsonl(root / "bench.jsonl", lines))


def timed(student: object, executor: Executor, home: Path, tasks, concurrency: int) -> float:
    runner = Runner(student, executor=executor, concurrency=concurrency)  # type: ignore[arg-type]
    started = time.perf_counter()
    results = asyncio.run(runner.run(home, tasks))
    elapsed = time.perf_counter() - started
    errors = [r.error for r in results if not r.scored]
    if errors:
        raise SystemExit(f"bench: {len(errors)} runs failed, first: {errors[0]}")
    return elapsed


def overhead(executor: Executor, home: Path, tasks, reps: int) -> dict[str, float]:
    """Median per-run seconds, one run at a time, of an idle command and an instant function."""
    out = {}
    for name, student in (
        ("command_idle", CommandStudent([sys.executable, "idle.py"], cwd=home)),
        ("python_instant", PythonStudent(instant)),
    ):
        timed(student, executor, home, tasks[:4], 1)  # warm up (workers, imports)
        runs = [timed(student, executor, home, tasks, 1) / len(tasks) for _ in range(reps)]
        out[name] = statistics.median(runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--work", type=float, default=0.25, help="CPU seconds per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    rounds = calibrate(args.work)
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "tasks": args.tasks,
        "work_seconds": args.work,
        "rounds": rounds,
    }
    with tempfile.TemporaryDirectory() as tmp:
        home, bench = make_bench_home(Path(tmp) / "home", args.tasks, rounds)
        student = CommandStudent([sys.executable, "agent.py"], cwd=home)
        local: dict[int, float] = {}
        for k in sorted({1, *args.workers}):
            local[k] = min(
                timed(student, LocalExecutor(), home, bench.tasks, k) for _ in range(args.reps)
            )
        report["local_seconds"] = local
        report["local_overhead"] = overhead(LocalExecutor(), home, bench.tasks, args.reps)
        on_ray: dict[int, float] = {}
        ray_overhead: dict[str, float] = {}
        for k in args.workers:
            with local_cluster(num_cpus=k) as cluster:
                executor = RayExecutor(cluster.address)
                try:
                    timed(student, executor, home, bench.tasks[:k], k)  # start the workers
                    on_ray[k] = min(
                        timed(student, executor, home, bench.tasks, k) for _ in range(args.reps)
                    )
                    if k == args.workers[0]:
                        ray_overhead = overhead(executor, home, bench.tasks, args.reps)
                finally:
                    executor.shutdown()
        report["ray_seconds"] = on_ray
        report["ray_overhead"] = ray_overhead
    serial = local[1]
    rows = [("local", 1, serial)]
    rows += [("local", k, local[k]) for k in args.workers if k != 1]
    rows += [("ray", k, on_ray[k]) for k in args.workers]
    print(f"{args.tasks} runs of a command student burning {args.work:g} s CPU each")
    print(f"{'executor':<9}{'workers':>8}{'wall s':>9}{'speed-up':>10}{'per worker':>12}")
    for name, k, seconds in rows:
        speedup = serial / seconds
        print(f"{name:<9}{k:>8}{seconds:>9.2f}{speedup:>10.2f}{speedup / k:>12.2f}")
    lo, ro = report["local_overhead"], ray_overhead
    assert isinstance(lo, dict)
    print("per-run cost, one run at a time (ms): local | ray | ray adds")
    for name in ("command_idle", "python_instant"):
        added = (ro[name] - lo[name]) * 1000
        print(f"  {name:<16}{lo[name] * 1000:8.1f} |{ro[name] * 1000:8.1f} |{added:8.1f}")
    report["speedup"] = {f"{n}:{k}": serial / s for n, k, s in rows}
    out = ROOT / "bench" / "results" / "ray_scaleout.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
