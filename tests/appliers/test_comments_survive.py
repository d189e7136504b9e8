"""A user's config.toml (comments everywhere, a dotted key, an inline table, out-of-order
tables) survives a long sequence of mixed edits: comments stay, in order; tables and keys
keep their order; the file parses after every step; values end up as the edits said."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import HOME_TOOLS, make_edit, tree_bytes
from specdistill import ApplyContext, AutonomyMode, Edit, EditOp, default_registry, execute_edits

USER_CONFIG = """\
# ============================================================
# Spec for my home agents.
# Owner: me. Every comment here must survive specdistill.
# ============================================================

title = "my spec"   # a top-level key
owner.name = "me"   # a dotted key
owner.email = "me@example.com"

# --- agents -------------------------------------------------

[agent.assistant]   # the default agent
class = "simple"    # simple loop
tools = ["calculator"]  # what it may call
max_turns = 4       # soft limit
max_turns_hard = 10 # hard limit
temperature = 0.2
limits = { rpm = 60, burst = 5 }   # an inline table

# A comment between tables.

[models."small-model"]   # a models table before the second agent: out of order
temperature = 0.2  # low
max_tokens = 512


[agent.coder]
# a leading comment inside the table
class = "react"
tools = [
  "calculator",  # math
  "web_search",  # network
]
max_turns = 8

[learning.routing.policy_map]
# query_class = "model"
general = "small-model"   # the default route

[models."qwen2.5:3b"]
top_p = 0.9

[specdistill.tier_overrides]
# op = "auto" | "review" | "manual"

# A trailing comment at the end of the file.
"""

TOOLS = HOME_TOOLS + '\n[shell]\ndescription = "Run a command."\n'

AGENTS = ["assistant", "coder"]
MODELS = ["small-model", "qwen2.5:3b", "llama3.2:1b"]  # the last is new
QUERY_CLASSES = ["general", "math", "code"]


def comments(text: str) -> list[str]:
    """Every comment in ``text``, in order (no '#' occurs inside this file's strings)."""
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


def headers(text: str) -> list[str]:
    return [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("[")]


def is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    rest = iter(haystack)
    return all(needle in rest for needle in needles)


def random_edit(rng: random.Random, index: int) -> Edit:
    """One auto-tier-ish edit (some valid, some not) drawn from the whole vocabulary."""
    kind = rng.choice(
        ["model_param", "agent_param", "route", "add_tool", "remove_tool", "class", "describe"]
    )
    eid = f"s{index:03d}-{kind}"
    if kind == "model_param":
        param, value = rng.choice(
            [
                ("temperature", round(rng.uniform(0, 2), 2)),
                ("temperature", rng.randint(0, 2)),  # int into a float key
                ("max_tokens", rng.randint(1, 4096)),
                ("stop", rng.choice(['"]', "\n# not a comment", "a'''b"])),
                ("top_p", rng.choice([0.5, 1, 1.5])),  # 1.5 is out of range
            ]
        )
        payload = {"model": rng.choice(MODELS), "param": param, "value": value}
        return make_edit(EditOp.SET_MODEL_PARAM, payload, id=eid)
    if kind == "agent_param":
        param, value = rng.choice(
            [
                ("max_turns", rng.randint(1, 50)),
                ("max_turns_hard", rng.randint(1, 50)),
                ("temperature", round(rng.uniform(0, 2), 3)),
                ("retries", rng.randint(0, 5)),
                ("limits", 3),  # refused: the inline table keeps its type
                ("max_turns", "many"),  # refused: type change
            ]
        )
        payload = {"agent": rng.choice(AGENTS), "param": param, "value": value}
        return make_edit(EditOp.SET_AGENT_PARAM, payload, id=eid)
    if kind == "route":
        payload = {"query_class": rng.choice(QUERY_CLASSES), "model": rng.choice(MODELS)}
        return make_edit(EditOp.SET_MODEL_FOR_QUERY_CLASS, payload, id=eid)
    if kind in ("add_tool", "remove_tool"):
        # The coder's commented tools are never removed: removing an array item
        # removes its comment with it, legitimately.
        agent = rng.choice(AGENTS)
        tool = "shell" if agent == "coder" else rng.choice(["calculator", "web_search", "shell"])
        op = EditOp.ADD_TOOL_TO_AGENT if kind == "add_tool" else EditOp.REMOVE_TOOL_FROM_AGENT
        return make_edit(op, {"agent": agent, "tool_name": tool}, id=eid)
    if kind == "class":
        payload = {"agent": rng.choice(AGENTS), "new_class": rng.choice(["simple", "react"])}
        return make_edit(EditOp.SET_AGENT_CLASS, payload, id=eid)
    payload = {"tool_name": rng.choice(["calculator", "shell"]), "new_description": f"v{index}"}
    return make_edit(EditOp.EDIT_TOOL_DESCRIPTION, payload, id=eid)


def expected_effect(edit: Edit, model: dict[tuple[str, ...], Any]) -> None:
    """Record what an applied edit must leave in the parsed config."""
    p = edit.payload
    if edit.op is EditOp.SET_MODEL_PARAM:
        model[("models", p["model"], p["param"])] = p["value"]
    elif edit.op is EditOp.SET_AGENT_PARAM:
        model[("agent", p["agent"], p["param"])] = p["value"]
    elif edit.op is EditOp.SET_MODEL_FOR_QUERY_CLASS:
        model[("learning", "routing", "policy_map", p["query_class"])] = p["model"]
    elif edit.op is EditOp.SET_AGENT_CLASS:
        model[("agent", p["agent"], "class")] = p["new_class"]


def lookup(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@pytest.mark.parametrize(
    "seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]
)
def test_comments_and_order_survive_a_long_sequence(tmp_path: Path, seed: int) -> None:
    home = tmp_path / "home"
    (home / "tools").mkdir(parents=True)
    (home / "config.toml").write_text(USER_CONFIG)
    (home / "tools" / "descriptions.toml").write_text(TOOLS)
    ctx = ApplyContext(home=home)
    registry = default_registry(plugins=False)
    rng = random.Random(seed)
    original = tomllib.loads(USER_CONFIG)
    expected: dict[tuple[str, ...], Any] = {}
    tools = {a: list(original["agent"][a]["tools"]) for a in AGENTS}
    statuses: dict[str, int] = {}

    for index in range(60):
        edit = random_edit(rng, index)
        before = tree_bytes(home)
        [outcome] = execute_edits(
            edits=[edit], ctx=ctx, autonomy_mode=AutonomyMode.AUTO, registry=registry
        )
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        text = (home / "config.toml").read_text()
        data = tomllib.loads(text)  # parses after every step
        tomllib.loads((home / "tools" / "descriptions.toml").read_text())
        assert is_subsequence(comments(USER_CONFIG), comments(text)), (edit, text)
        assert is_subsequence(headers(USER_CONFIG), headers(text)), (edit, text)
        if outcome.status != "applied":
            assert tree_bytes(home) == before, edit
            continue
        expected_effect(edit, expected)
        agent, tool = edit.payload.get("agent"), edit.payload.get("tool_name")
        if edit.op is EditOp.ADD_TOOL_TO_AGENT and tool not in tools[agent]:
            tools[agent].append(tool)
        elif edit.op is EditOp.REMOVE_TOOL_FROM_AGENT:
            tools[agent].remove(tool)
        for a in AGENTS:
            assert data["agent"][a]["tools"] == tools[a]

    # a meaningful mix: most edits applied, some refused
    assert statuses.get("applied", 0) >= 30, statuses
    assert statuses.get("rejected_by_gate", 0) >= 3, statuses

    text = (home / "config.toml").read_text()
    data = tomllib.loads(text)
    for path, value in expected.items():
        got = lookup(data, path)
        assert got == value and (type(got) is type(value) or isinstance(got, float)), path

    # comments: all of them, in order; only "# not a comment" may be new (inside a string)
    assert is_subsequence(comments(USER_CONFIG), comments(text))
    # headers: the original ones in order; new ones are only new model tables
    new_headers = [h for h in headers(text) if h not in headers(USER_CONFIG)]
    assert all(re.fullmatch(r'\[models\."[^"]+"\]', h) for h in new_headers), new_headers
    # key order inside every original table is kept
    for path in [("agent", "assistant"), ("agent", "coder"), ("models", "small-model"),
                 ("learning", "routing", "policy_map")]:  # fmt: skip
        assert is_subsequence(list(lookup(original, path)), list(lookup(data, path))), path
    assert list(data)[:2] == ["title", "owner"]
    # what no edit may touch is untouched, byte for byte
    for line in [
        'title = "my spec"   # a top-level key',
        'owner.name = "me"   # a dotted key',
        'owner.email = "me@example.com"',
        "limits = { rpm = 60, burst = 5 }   # an inline table",
        "# a leading comment inside the table",
        '  "calculator",  # math',
        '  "web_search",  # network',
    ]:
        assert line in text.splitlines(), line
    # inline comments stay on their key's line
    for key, comment in [
        ("class", "# simple loop"),
        ("max_turns", "# soft limit"),
        ("max_turns_hard", "# hard limit"),
        ("general", "# the default route"),
        ("temperature", "# low"),
    ]:
        [line] = [line for line in text.splitlines() if line.endswith(comment)]
        assert line.startswith(f"{key} ="), line
