"""Helpers for tests of the gate against a real loopback OpenAI-compatible server: a spec
home whose student is the ``openai`` kind pointed at :class:`eval_helpers.ChatServer`,
a deterministic model (:func:`answer`) and the edits the tests gate.

Benchmark: clusters ``target``, ``units`` and ``dates``, each task ``"<cluster> <i>"``
with its cluster as query class, answered right when the model says ``yes``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from specdistill import Edit
from specdistill.home import SpecHome

CLUSTERS = ("target", "units", "dates")

CONFIG = """\
[agent.assistant]
class = "simple"
tools = ["calculator"]
max_turns = 4

[learning.routing.policy_map]
general = "small-model"

[models."small-model"]
temperature = 0.0

[models."big-model"]
temperature = 0.0

[specdistill.student]
kind = "openai"
base_url = "{url}"

[specdistill.runner]
max_attempts = 1
concurrency = 8
{extra}"""


def answer(body: dict[str, Any]) -> str | int:
    """The loopback model: deterministic in what the request carries.

    Target tasks i % 10 < 8 are answered right by ``big-model`` or with a tool whose
    description says HELP; BREAK makes tasks i % 10 < 3 of the other clusters wrong, and
    HIDE turns exactly those wrong answers into HTTP 500s.
    """
    cluster, number = body["messages"][-1]["content"].split()
    i = int(number) % 10
    tools = " ".join(t["function"]["description"] for t in body.get("tools", []))
    if cluster == "target":
        helped = body["model"] == "big-model" or "HELP" in tools
        return "yes" if helped and i < 8 else "no"
    if "BREAK" in tools and i < 3:
        return 500 if "HIDE" in tools else "no"
    return "yes"


def write_benchmark(path: Path, per_cluster: int) -> Path:
    """A benchmark of ``per_cluster`` tasks in each of :data:`CLUSTERS`."""
    lines = [
        {"id": f"{c}-{i:03d}", "input": f"{c} {i}", "cluster": c, "query_class": c,
         "reference": "yes", "scorer": "exact", "agent": "assistant"}
        for c in CLUSTERS
        for i in range(per_cluster)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def make_home(root: Path, url: str, per_cluster: int, extra: str = "") -> SpecHome:
    (root / "agents" / "assistant").mkdir(parents=True)
    (root / "tools").mkdir()
    (root / "config.toml").write_text(CONFIG.format(url=url, extra=extra))
    (root / "agents" / "assistant" / "system_prompt.md").write_text("Answer yes or no.\n")
    (root / "tools" / "descriptions.toml").write_text('[calculator]\ndescription = "Adds."\n')
    write_benchmark(root / "benchmark.jsonl", per_cluster)
    return SpecHome(root)


def route_target_to_big() -> Edit:
    return Edit(id="e-route", pillar="intelligence", op="set_model_for_query_class",
                target="learning.routing.policy_map", expected_improvement="target",
                payload={"query_class": "target", "model": "big-model"})  # fmt: skip


def describe_calculator(text: str) -> Edit:
    return Edit(id="e-describe", pillar="tools", op="edit_tool_description",
                target="tools.calculator", expected_improvement="target",
                payload={"tool_name": "calculator", "new_description": text})  # fmt: skip


def more_turns() -> Edit:
    return Edit(id="e-turns", pillar="agent", op="set_agent_param", target="agent.assistant",
                expected_improvement="target",
                payload={"agent": "assistant", "param": "max_turns", "value": 12})  # fmt: skip
