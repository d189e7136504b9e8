"""What ``specdistill init`` writes: a working home for your own agent.

:func:`scaffold_home` writes, next to the spec (``config.toml``, ``agents/``,
``tools/``), the files that make it run end to end before you change anything:

- ``config.toml`` with a ``[specdistill.student]`` block for the chosen kind filled in
  and the other two kinds commented out, every key with its default;
- ``agent.py``, an example agent that reads the spec it is given and answers (a program
  for ``command``, a function for ``python``; not written for ``openai``);
- ``benchmark.jsonl``, a skeleton of two clusters, each as large as the gate needs
  (:func:`specdistill.gate.min_tasks`) to prove an improvement in one and rule out a
  drop in the other;
- ``plan.json``, a plan template of one edit the example agent gains from.

The example agent can compute only when the spec gives it the ``calculator`` tool, and
the scaffold's agent has no tool yet: the plan template adds it, so the first ``run``
keeps an edit. Replace the agent, the tasks and the plan with yours.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from specdistill.fsio import atomic_write_bytes
from specdistill.gate.config import GateConfig
from specdistill.gate.sizing import min_tasks
from specdistill.home import DEFAULT_PROMPT, DEFAULT_TOOL_DESCRIPTIONS, SpecHome

StudentKind = Literal["command", "python", "openai"]
STUDENT_KINDS: tuple[StudentKind, ...] = ("command", "python", "openai")
AGENT_FILE = "agent.py"
BENCHMARK_FILE = "benchmark.jsonl"
PLAN_FILE = "plan.json"

_HEADER = """\
# specdistill spec home. Edit freely: comments and ordering survive every edit.
# Params: [models."<m>"] holds a model's params, [agent.<a>] the agent's own; an agent's
# value wins over its model's for the same key (docs/your-agent.md).

[agent.assistant]
class = "simple"
tools = []          # the example agent computes only with "calculator" (see plan.json)
max_turns = 4

[learning.routing.policy_map]
# query_class = "model"; a class not listed here uses "general"
general = "small-model"

[models."small-model"]
temperature = 0.2
max_tokens = 512

[specdistill.tier_overrides]
# op = "auto" | "review" | "manual"

[specdistill.benchmark]
path = "benchmark.jsonl"

# --- the student: the agent the benchmark and the gate run ------------------------------
# One of the three blocks below is active; the others are there to switch to. Every key
# is shown with its default. What each kind receives: docs/your-agent.md.
"""

_COMMAND = """\
[specdistill.student]
kind = "command"
argv = ["{python}", "agent.py"]   # run in the spec home; reads JSON on stdin, prints the answer
timeout = 120                     # seconds per task run; on timeout its process group is killed
# The example agent reads only the spec it is sent, never other files, so an edit re-runs
# only the tasks whose spec it changes. If your agent reads files of the home, use "home".
fingerprint_scope = "view"        # default "home"
"""

_PYTHON = """\
[specdistill.student]
kind = "python"
function = "agent:answer"         # module:function; the home is on sys.path while importing
timeout = 120                     # seconds per call (default: 120)
fingerprint_scope = "view"        # default "home" (see the command block)
"""

_OPENAI = """\
[specdistill.student]
kind = "openai"
base_url = "http://localhost:11434/v1"   # any OpenAI-compatible endpoint (Ollama, vLLM, ...)
# api_key_env = "OPENAI_API_KEY"         # default none: no key sent; the NAME of the env var
timeout = 120                            # seconds per call
"""

_BLOCKS: dict[StudentKind, str] = {"command": _COMMAND, "python": _PYTHON, "openai": _OPENAI}

AGENT_SCRIPT = '''\
"""An example agent for specdistill: replace it with yours.

As a `command` student it reads one JSON document on stdin and prints its answer:
    {"protocol": 1, "spec_home": "...", "task": {"id", "input", ...},
     "spec": {"agent", "model", "params", "system_prompt", "few_shot", "tools", ...}}
(the JSON Schema: `specdistill schema --student`). As a `python` student, answer(task,
spec_home, spec) gets the same three parts. Read the spec from here, not from the files:
the gate runs candidate specs in a scratch copy of the home.
"""

import ast
import json
import operator
import sys

OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def calculator(expression):
    """The "calculator" tool: + - * on integers (ast, never eval)."""

    def value(node):
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        raise ValueError("not arithmetic")

    return value(ast.parse(expression, mode="eval").body)


def answer(task, spec_home, spec):
    question = task["input"]
    tools = [name for name, description in spec["tools"]]
    if question.startswith("Repeat:"):
        return question.removeprefix("Repeat:").strip()
    if question.startswith("What is ") and question.endswith("?"):
        expression = question.removeprefix("What is ").removesuffix("?")
        if "calculator" in tools:
            return str(calculator(expression))
        return str(sum(int(n) for n in expression.split() if n.isdigit()))  # a guess
    return "I don't know"


if __name__ == "__main__":
    document = json.load(sys.stdin)
    print(answer(document["task"], document["spec_home"], document["spec"]))
'''


def student_block(kind: StudentKind, python: str = "python3") -> str:
    """The config.toml part for the student: ``kind``'s block active, the others commented."""
    parts = []
    for name in STUDENT_KINDS:
        block = _BLOCKS[name].replace("{python}", python)
        if name != kind:
            block = "".join(
                f"# {line}" if line.strip() else line for line in block.splitlines(True)
            )
        parts.append(block)
    return "\n".join(parts)


def config_text(kind: StudentKind, python: str = "python3") -> str:
    return _HEADER + "\n" + student_block(kind, python)


def benchmark_lines(config: GateConfig | None = None) -> list[str]:
    """Two clusters, each as large as the gate needs with ``config``: 'arithmetic' (the
    example agent guesses without a calculator) and 'echo' (it always gets right)."""
    sizing = min_tasks(config)
    needs = [sizing.efficacy_wins, sizing.cluster_ties, sizing.pooled_ties]
    per_cluster = max(n for n in needs if n is not None)
    lines = []
    for i in range(per_cluster):
        a, b, c = 11 + i, 2 + i % 7, 3 + i % 5
        task = {"id": f"arith-{i + 1:03d}", "input": f"What is {a} + {b} * {c}?"}
        lines.append({**task, "cluster": "arithmetic", "reference": a + b * c, "scorer": "numeric"})
    for i in range(per_cluster):
        word = f"word{i + 1}"
        task = {"id": f"echo-{i + 1:03d}", "input": f"Repeat: {word}"}
        lines.append({**task, "cluster": "echo", "reference": word, "scorer": "exact"})
    return [json.dumps(line) + "\n" for line in lines]


PLAN_TEMPLATE = {
    "edits": [
        {
            "id": "e1-give-calculator",
            "pillar": "tools",
            "op": "add_tool_to_agent",
            "target": "agent.assistant.tools",
            "payload": {"agent": "assistant", "tool_name": "calculator"},
            "rationale": "The agent guesses at arithmetic; with the calculator it computes.",
            "expected_improvement": "arithmetic",
        }
    ]
}


@dataclass(frozen=True)
class Scaffold:
    """What :func:`scaffold_home` wrote, and what it left alone because it existed."""

    created: list[Path]
    kept: list[Path]


def scaffold_home(
    root: str | os.PathLike[str], kind: StudentKind = "command", *, python: str = "python3"
) -> Scaffold:
    """Write the scaffold (module docstring) into ``root``; existing files are kept."""
    if kind not in STUDENT_KINDS:
        raise ValueError(f"student kind {kind!r} is not one of {', '.join(STUDENT_KINDS)}")
    home = SpecHome(root)
    home.root.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {
        home.config_path: config_text(kind, python),
        home.system_prompt_path("assistant"): DEFAULT_PROMPT,
        home.few_shot_path("assistant"): "[]\n",
        home.tool_descriptions_path: DEFAULT_TOOL_DESCRIPTIONS,
        home.root / BENCHMARK_FILE: "".join(benchmark_lines()),
        home.root / PLAN_FILE: json.dumps(PLAN_TEMPLATE, indent=2) + "\n",
    }
    if kind != "openai":
        files[home.root / AGENT_FILE] = AGENT_SCRIPT
    created, kept = [], []
    for path, text in files.items():
        if path.exists():
            kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, text.encode("utf-8"), mode=0o644)
        created.append(path)
    home.learning_dir.mkdir(exist_ok=True)
    return Scaffold(created, kept)
