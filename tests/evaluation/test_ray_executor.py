"""Student runs as Ray tasks, against a real local Ray cluster (``ray start --head`` on
127.0.0.1 with 2 CPUs, started once for this module and stopped by pid after it).

Verdicts equal the local runner's; a Ray worker killed mid-run and a run that outlasts
its timeout are retried as locally, a run that fails for good is an error and never a
score; Ctrl-C on a real ``specdistill bench run`` cancels its outstanding Ray tasks and
kills the agents they ran. All ``slow``: the cluster takes a few seconds to start.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from checkpoint_helpers import SPECDISTILL, isolate_git
from eval_helpers import ChatServer, make_home, task, write_jsonl
from ray_helpers import LocalCluster, local_cluster
from run_helpers import EXPECTED
from specdistill.evaluation import (
    ChatEndpoint,
    CommandStudent,
    OpenAIStudent,
    RetryPolicy,
    Runner,
    load_benchmark,
)
from specdistill.evaluation.ray_executor import RayExecutor
from specdistill.example.quickstart import PLAN_FILE, create_example_home
from specdistill.models import AutonomyMode, LearningSession
from specdistill.plan import load_plan
from specdistill.sessions.run import run_session

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(num_cpus=2) as running:
        try:
            yield running
        finally:
            if ray.is_initialized():
                ray.shutdown()
    assert running.pids() == [], "Ray processes left running"


def runner_config(cluster: LocalCluster, concurrency: int = 4) -> str:
    return (
        f'\n[specdistill.runner]\nexecutor = "ray"\naddress = "{cluster.address}"\n'
        f"concurrency = {concurrency}\n"
    )


# --- same verdicts -----------------------------------------------------------------------


def comparable(session: LearningSession) -> dict:
    """What a session decided: outcomes, deltas, gate reports, scores (no ids or times)."""
    data = json.loads(session.model_dump_json())
    keys = ("edit_id", "status", "benchmark_delta", "cluster_deltas", "gate_report", "error")
    outcomes = [{k: o[k] for k in keys} for o in data["edit_outcomes"]]
    scores = [
        {k: v for k, v in snapshot.items() if k != "elapsed_seconds"}
        for snapshot in (data["benchmark_before"], data["benchmark_after"])
    ]
    return {"outcomes": outcomes, "scores": scores}


def quickstart_session(root: Path, extra_config: str) -> LearningSession:
    home = create_example_home(root)
    with (home / "config.toml").open("a") as config:
        config.write(extra_config)
    return run_session(
        home, load_plan(home / PLAN_FILE), mode=AutonomyMode.TIERED, gate_mode="sequential"
    )


def test_the_quickstart_session_decides_the_same_on_ray_as_locally(
    cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    local = quickstart_session(tmp_path / "local", "\n[specdistill.runner]\nconcurrency = 4\n")
    # A spy (it calls through) on the executors the session's gate opens, to see where
    # the runs went.
    used: list[RayExecutor] = []
    bind = RayExecutor.bind

    def spying_bind(self: RayExecutor, *args: object) -> object:
        used.append(self)
        return bind(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(RayExecutor, "bind", spying_bind)
    on_ray = quickstart_session(tmp_path / "ray", runner_config(cluster))
    assert {o.edit_id: o.status for o in on_ray.edit_outcomes} == EXPECTED
    assert comparable(on_ray) == comparable(local)
    pids = {pid for executor in used for pid in executor.last_pids}
    assert pids and os.getpid() not in pids, "the runs were Ray tasks on the cluster's workers"


# --- faults --------------------------------------------------------------------------------

AGENT = """\
import json, os, sys, time
doc = json.load(sys.stdin)
task, home = doc["task"], doc["spec_home"]
mark = os.path.join(os.environ["MARKS"], task["id"])
first = not os.path.exists(mark)
if first:
    with open(mark + ".tmp", "w") as f:
        f.write(f"{os.getppid()} {os.getpid()}")
    os.rename(mark + ".tmp", mark)
kind = task["input"]
if kind == "kill" and first:
    time.sleep(60)      # the test kills the Ray worker running this
if kind == "hang" and first:
    time.sleep(60)      # outlasts the student's timeout once
if kind == "fail":
    sys.exit(3)
# the spec travelled: the snapshot is a real home on the worker, outside the user's
prompt = open(os.path.join(home, "agents", "alpha", "system_prompt.md")).read().strip()
print(prompt if kind != "where" else home)
"""


def test_a_killed_worker_and_a_timeout_are_retried_and_failures_are_errors(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    home = make_home(tmp_path / "home")
    marks = tmp_path / "marks"
    marks.mkdir()
    # The agent finds its marks folder through a file shipped with the spec.
    (home / "agent.py").write_text(f"import os\nos.environ['MARKS'] = {str(marks)!r}\n" + AGENT)
    (home / "learning" / "private.txt").write_text("never shipped")
    student = CommandStudent([sys.executable, "agent.py"], timeout=4, cwd=home)
    bench = load_benchmark(
        write_jsonl(
            tmp_path / "b.jsonl",
            [
                task("ok", input="ok", agent="alpha", reference="You are alpha."),
                task("kill", input="kill", agent="alpha", reference="You are alpha."),
                task("hang", input="hang", agent="alpha", reference="You are alpha."),
                task("fail", input="fail", agent="alpha", reference="You are alpha."),
                task("where", input="where", agent="alpha", reference=str(home)),
            ],
        )
    )
    executor = RayExecutor(cluster.address)
    runner = Runner(student, executor=executor, concurrency=5, retry=RetryPolicy(3, 0.1, 0.2))
    killed: list[int] = []

    async def kill_the_worker() -> None:
        mark = marks / "kill"
        while not mark.exists():
            await asyncio.sleep(0.05)
        worker, agent = map(int, mark.read_text().split())
        cmdline = Path(f"/proc/{worker}/cmdline").read_bytes()
        assert b"default_worker" in cmdline or b"ray::" in cmdline, cmdline[:200]
        os.kill(worker, signal.SIGKILL)
        killed.append(worker)
        os.kill(agent, signal.SIGKILL)  # its agent, orphaned by the dead worker

    async def main() -> list:
        killer = asyncio.create_task(kill_the_worker())
        results = await runner.run(home, bench.tasks)
        await killer
        return results

    results = {r.task_id: r for r in asyncio.run(main())}
    assert killed
    assert results["ok"].score == 1.0 and results["ok"].attempts == 1
    assert results["kill"].score == 1.0 and results["kill"].attempts == 2
    assert results["hang"].score == 1.0 and results["hang"].attempts == 2
    assert results["fail"].score is None and results["fail"].attempts == 1
    assert "exited with status 3" in (results["fail"].error or "")
    # the run happened in a temporary copy of the spec, not in the user's home
    assert results["where"].score == 0.0 and str(home) not in (results["where"].answer or "-")
    assert killed[0] not in executor.last_pids


def test_a_run_that_keeps_failing_on_ray_is_an_error_never_a_score(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    home = make_home(tmp_path / "home")
    (home / "agent.py").write_text("import time\ntime.sleep(60)\n")
    student = CommandStudent([sys.executable, "agent.py"], timeout=1, cwd=home)
    bench = load_benchmark(write_jsonl(tmp_path / "b.jsonl", [task("t", agent="alpha")]))
    runner = Runner(student, executor=RayExecutor(cluster.address), retry=RetryPolicy(2, 0, 0))
    [result] = asyncio.run(runner.run(home, bench.tasks))
    assert result.score is None and result.attempts == 2
    assert result.error == "command timed out after 1s (process group killed) (after 2 attempts)"


# --- Ctrl-C --------------------------------------------------------------------------------

SLOW_AGENT = textwrap.dedent(
    """\
    import json, os, sys, time
    task = json.load(sys.stdin)["task"]
    with open(os.path.join({marks!r}, task["id"]), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
    print("late")
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(")")[1].split()[0] != "Z"


def slow_home(root: Path, marks: Path, cluster: LocalCluster) -> Path:
    """A home whose command agent records its pid in ``marks`` and sleeps a minute."""
    marks.mkdir()
    home = make_home(
        root,
        extra_config='\n[specdistill.student]\nkind = "command"\nargv = ["python3", "agent.py"]\n'
        'agent = "alpha"\n' + runner_config(cluster, concurrency=6),
    )
    (home / "agent.py").write_text(SLOW_AGENT.format(marks=str(marks)))
    write_jsonl(home / "benchmark.jsonl", [task(f"t{i}") for i in range(6)])
    return home


def wait_for_agents(marks: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [p.read_text() for p in marks.iterdir()]
        if len(found) >= count and all(found):
            return [int(pid) for pid in found]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} agents started")


def assert_cancelled(agents: list[int], marks: Path, cluster: LocalCluster) -> None:
    """The agents are dead, every CPU is free again, no queued run ever started."""
    deadline = time.monotonic() + 10
    while any(map(alive, agents)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, agents)), "the cancelled tasks' agents were killed"
    if not ray.is_initialized():
        ray.init(address=cluster.address, log_to_driver=False)
    deadline = time.monotonic() + 10
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2
    time.sleep(1.0)
    assert len(list(marks.iterdir())) == len(agents), "a queued run started after the cancel"


def test_cancelling_a_run_cancels_its_ray_tasks_while_the_driver_lives_on(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    """What Ctrl-C does to ``asyncio.run``: the runner's task is cancelled. The driver
    stays connected, so only the executor's own ray.cancel stops the running tasks."""
    marks = tmp_path / "marks"
    home = slow_home(tmp_path / "home", marks, cluster)
    student = CommandStudent(["python3", "agent.py"], timeout=120, cwd=home)
    runner = Runner(student, executor=RayExecutor(cluster.address), concurrency=6)
    bench = load_benchmark(home / "benchmark.jsonl")
    agents: list[int] = []

    async def main() -> None:
        job = asyncio.create_task(runner.run(home, bench.tasks))
        agents.extend(await asyncio.to_thread(wait_for_agents, marks, 2))
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    assert len(agents) == 2, "both CPUs of the cluster ran an agent"
    assert_cancelled(agents, marks, cluster)


def test_ctrl_c_on_a_real_bench_run_stops_it_and_its_ray_tasks(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    home = slow_home(tmp_path / "home", marks, cluster)
    proc = subprocess.Popen(
        [SPECDISTILL, "bench", "run", "--home", str(home), "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        agents = wait_for_agents(marks, 2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0, err
    assert_cancelled(agents, marks, cluster)


# --- an openai student on Ray ----------------------------------------------------------


def test_an_openai_student_on_ray_spreads_over_endpoints_and_never_ships_its_key(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    home = make_home(tmp_path / "home")
    lines = [task(f"t{i}", agent="alpha", reference="ok", scorer="contains") for i in range(12)]
    bench = load_benchmark(write_jsonl(tmp_path / "b.jsonl", lines))
    with (
        ChatServer(lambda body: "ok") as a,
        ChatServer(lambda body: "ok") as b,
        ChatServer(lambda body: "ok") as bad,
    ):
        bad.faults = ["500"] * 1000
        endpoints = [ChatEndpoint(s.base_url, timeout=5, name="student") for s in (a, b, bad)]
        runner = Runner(
            OpenAIStudent(endpoints),
            executor=RayExecutor(cluster.address),
            concurrency=1,  # each request finds none in flight: they go round in turn
            retry=RetryPolicy(3, 0.0, 0.0),
        )
        results = asyncio.run(runner.run(home, bench.tasks))
        assert all(r.score == 1.0 for r in results), [r.error for r in results]
        assert bad.count == 1 and a.count + b.count == 12 and min(a.count, b.count) >= 5
        # The request the worker sent is the view's: the system prompt travelled.
        assert a.requests[0]["messages"][0] == {"role": "system", "content": "You are alpha.\n"}
        # A keyed endpoint: the key stays here; the worker looks for its own copy.
        keyed = ChatEndpoint(
            a.base_url, api_key="sk-never-shipped", name="student", key_env="SD_NOT_ON_WORKERS"
        )
        runner = Runner(OpenAIStudent(keyed), executor=RayExecutor(cluster.address))
        [result] = asyncio.run(runner.run(home, bench.tasks[:1]))
    assert result.score is None and result.attempts == 1
    assert "SD_NOT_ON_WORKERS is not set" in (result.error or "")
    assert "sk-never-shipped" not in (result.error or "")
