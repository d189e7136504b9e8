"""Gate wall time for 200 task pairs against a loopback OpenAI-compatible server that adds
100 ms to every request: serial, concurrency 16, and a cached re-run.

    .venv/bin/python bench/gate_throughput.py [--reps 3] [--delay 0.1] [--skip-serial]

The student is the real OpenAI-compatible reference agent built from the spec; the server
(tests/eval_helpers.py) answers "yes" to target-cluster tasks only when the system prompt
says HELP, so the edit under test truly helps. To force exactly 200 pairs the gate runs in
``mean`` mode with a 200-task subsample; the sequential test's own cost on the same edit
is reported too. Each measured run starts from a fresh home (a cold cache), except the
cached re-run, which repeats the gate on a home whose cache the previous run filled.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from eval_helpers import ChatServer  # noqa: E402
from specdistill import ApplyContext, AutonomyMode, Edit, EditOp, execute_edits  # noqa: E402
from specdistill.gate.settings import open_gate  # noqa: E402
from specdistill.home import init_home  # noqa: E402

CLUSTERS = ("target", "c1", "c2", "c3")
TASKS_PER_CLUSTER = 50


def responder(body: dict) -> str:
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    question = body["messages"][-1]["content"]
    if question.startswith("target"):
        return "yes" if "HELP" in system else "no"
    return "yes"


def make_home(root: Path, base_url: str, concurrency: int, mode: str) -> Path:
    init_home(root)
    tasks = [
        {"id": f"{c}-{i:03d}", "input": f"{c} question {i}", "cluster": c,
         "reference": "yes", "scorer": "exact", "agent": "assistant"}
        for c in CLUSTERS for i in range(TASKS_PER_CLUSTER)
    ]  # fmt: skip
    (root / "benchmark.jsonl").write_text("\n".join(json.dumps(t) for t in tasks) + "\n")
    config = root / "config.toml"
    config.write_text(
        config.read_text()
        + f'\n[specdistill.student]\nkind = "openai"\nbase_url = "{base_url}"\n'
        + f"\n[specdistill.runner]\nconcurrency = {concurrency}\n"
        + f'\n[specdistill.gate]\nmode = "{mode}"\nsubsample = 200\n'
    )
    return root


EDIT = Edit(
    id="help",
    pillar="agent",
    op=EditOp.REPLACE_SYSTEM_PROMPT,
    target="agents.assistant.system_prompt",
    payload={"new_content": "HELP\n"},
    expected_improvement="target",
)


def gate_once(home: Path, server: ChatServer) -> tuple[float, int, str]:
    """Gate the edit once; return (seconds, requests served, outcome). Leaves the home as it was."""
    gate = open_gate(home)
    before = server.count
    started = time.perf_counter()
    ctx = ApplyContext(home=home)
    [outcome] = execute_edits(edits=[EDIT], ctx=ctx, autonomy_mode=AutonomyMode.AUTO, gate=gate)
    elapsed = time.perf_counter() - started
    if gate.cache is not None:
        gate.cache.close()
    if outcome.status == "applied":  # undo, so a re-run gates the same edit again
        (home / "agents/assistant/system_prompt.md").write_text(
            "You are a helpful assistant. Answer concisely.\n"
        )
    return elapsed, server.count - before, outcome.status


def measure(server: ChatServer, concurrency: int, mode: str, reps: int) -> dict:
    cold, cached, requests, status = [], [], [], ""
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            home = make_home(Path(tmp), server.base_url, concurrency, mode)
            seconds, served, status = gate_once(home, server)
            cold.append(seconds)
            requests.append(served)
            seconds, served_again, _ = gate_once(home, server)
            cached.append(seconds)
            assert served_again == 0, f"cached re-run sent {served_again} requests"
    return {
        "cold_s": statistics.median(cold),
        "cached_s": statistics.median(cached),
        "requests": statistics.median(requests),
        "outcome": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--skip-serial", action="store_true", help="skip the slow serial run")
    args = parser.parse_args()
    with ChatServer(responder, delay=args.delay) as server:
        rows = {}
        if not args.skip_serial:
            rows["mean, 200 pairs, serial"] = measure(server, 1, "mean", 1)
        rows["mean, 200 pairs, concurrency 16"] = measure(server, 16, "mean", args.reps)
        rows["sequential test, concurrency 16"] = measure(server, 16, "sequential", args.reps)
    print(f"gate wall time, {args.delay * 1000:.0f} ms per request, median of {args.reps} runs")
    print(f"{'configuration':36} {'requests':>8} {'cold s':>8} {'cached s':>9}  outcome")
    for name, row in rows.items():
        print(
            f"{name:36} {row['requests']:8.0f} {row['cold_s']:8.2f} {row['cached_s']:9.3f}  "
            f"{row['outcome']}"
        )
    c16 = rows["mean, 200 pairs, concurrency 16"]
    if "mean, 200 pairs, serial" in rows:
        serial = rows["mean, 200 pairs, serial"]
        print(f"speed-up of concurrency 16 over serial: {serial['cold_s'] / c16['cold_s']:.1f}x")
    print(f"cached re-run vs cold (concurrency 16): {c16['cold_s'] / c16['cached_s']:.0f}x faster")
    seq = rows["sequential test, concurrency 16"]
    print(
        f"sequential test vs 200 fixed pairs: {seq['requests'] / c16['requests']:.2f}x the "
        f"requests, {seq['cold_s'] / c16['cold_s']:.2f}x the time"
    )


if __name__ == "__main__":
    main()
