"""How long validate + apply takes per edit (no gate), on a realistic spec home.

    .venv/bin/python bench/apply_overhead.py [--runs 5] [--edits 200]

Builds a home whose config.toml has ~500 lines (many agents and models, with comments)
and a 200-edit plan mixing the auto-tier ops (routing, model params, agent params,
tools add/remove, tool descriptions) with a few prompt and few-shot edits, then runs
``execute_edits`` in AUTO mode on fresh copies of the home. Each edit's time is the
interval between successive outcomes (route + validate + apply, atomic write with fsync
included; the first also carries the one-time read of the tier overrides). Baselines
measured in the same run put the figure in context: one ``tomllib`` parse of the same
config (the floor of any safe edit: it must at least be read), a plain tomlkit parse +
dump of it, one raw atomic write of it, and the reference system's unsafe string splice
of the same config edits (read, find the line by ``startswith``, replace it, write;
implemented here for comparison only). Parse caches are cleared before each run.

Prints figures only.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from pathlib import Path

import tomlkit

from specdistill import ApplyContext, AutonomyMode, Edit, EditOp, default_registry, execute_edits
from specdistill.appliers import toml_doc
from specdistill.diffpatch import make_unified_diff
from specdistill.fsio import atomic_write_bytes
from specdistill.tiers import DEFAULT_TIERS, PILLARS

N_AGENTS = 30
N_MODELS = 30
N_TOOLS = 20
N_CLASSES = 20
TOOLS = [f"tool_{i:02d}" for i in range(N_TOOLS)]
AGENTS = [f"agent_{i:02d}" for i in range(N_AGENTS)]
MODELS = [f"family{i % 5}:{i}b" for i in range(N_MODELS)]
CLASSES = [f"class_{i:02d}" for i in range(N_CLASSES)]
PROMPT_LINES = 40


def prompt_text(agent: str) -> str:
    return "".join(f"Rule {n} for {agent}: be precise.\n" for n in range(PROMPT_LINES))


def build_config() -> str:
    out = [
        "# Spec home used by bench/apply_overhead.py.",
        "# Hand-written style: comments, blank lines, inline comments.",
        "",
    ]
    for i, agent in enumerate(AGENTS):
        tools = ", ".join(f'"{t}"' for t in TOOLS[i % 7 : i % 7 + 3])
        out += [
            f"# --- {agent} ---",
            f"[agent.{agent}]   # agent number {i}",
            'class = "react"  # loop kind',
            "# the tools it may call",
            f"tools = [{tools}]",
            f"max_turns = {4 + i % 5}  # soft limit",
            f"max_turns_hard = {20 + i}",
            "temperature = 0.3",
            f'note = "agent {i}"',
            "",
        ]
    out += ["[learning.routing.policy_map]", "# query class -> model"]
    out += [f'{c} = "{MODELS[i % N_MODELS]}"  # route {i}' for i, c in enumerate(CLASSES)]
    out.append("")
    for i, model in enumerate(MODELS):
        out += [
            f"# model {i}",
            f'[models."{model}"]',
            f"temperature = {0.1 * (i % 10):.1f}",
            f"max_tokens = {256 * (1 + i % 4)}  # budget",
            "top_p = 0.9",
            "",
        ]
    out += ["[specdistill.tier_overrides]", '# op = "auto" | "review" | "manual"', ""]
    return "\n".join(out)


def build_home(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "config.toml").write_text(build_config())
    (root / "tools").mkdir()
    catalog = [f'[{t}]  # tool\ndescription = "Tool {t}."\n' for t in TOOLS]
    (root / "tools" / "descriptions.toml").write_text("# tools\n" + "\n".join(catalog))
    for agent in AGENTS:
        (root / "agents" / agent).mkdir(parents=True)
        (root / "agents" / agent / "system_prompt.md").write_text(prompt_text(agent))
    (root / "learning").mkdir()


def edit(op: EditOp, payload: dict, index: int) -> Edit:
    return Edit(
        id=f"b{index:03d}-{op.value}",
        pillar=PILLARS[op],
        op=op,
        payload=payload,
        risk_tier=DEFAULT_TIERS[op],
    )


def build_plan(n_edits: int, seed: int = 7) -> list[Edit]:
    """``n_edits`` edits, all valid in sequence: tool lists are tracked as they change."""
    rng = random.Random(seed)
    tools = {a: set(TOOLS[i % 7 : i % 7 + 3]) for i, a in enumerate(AGENTS)}
    patched: dict[str, int] = defaultdict(int)
    plan: list[Edit] = []
    auto_kinds = ["route", "model_param", "agent_param", "add_tool", "remove_tool", "describe"]
    for index in range(n_edits):
        kind = rng.choice(auto_kinds) if index % 20 else rng.choice(["prompt", "patch", "shots"])
        agent = rng.choice(AGENTS)
        if kind == "route":
            payload = {"query_class": rng.choice(CLASSES), "model": rng.choice(MODELS)}
            plan.append(edit(EditOp.SET_MODEL_FOR_QUERY_CLASS, payload, index))
        elif kind == "model_param":
            param, value = rng.choice(
                [
                    ("temperature", round(rng.uniform(0, 2), 2)),
                    ("max_tokens", rng.randint(64, 8192)),
                ]
            )
            payload = {"model": rng.choice(MODELS), "param": param, "value": value}
            plan.append(edit(EditOp.SET_MODEL_PARAM, payload, index))
        elif kind == "agent_param":
            param, value = rng.choice(
                [("max_turns", rng.randint(1, 30)), ("temperature", round(rng.uniform(0, 1), 2))]
            )
            payload = {"agent": agent, "param": param, "value": value}
            plan.append(edit(EditOp.SET_AGENT_PARAM, payload, index))
        elif kind == "add_tool" or (kind == "remove_tool" and not tools[agent]):
            tool = rng.choice(sorted(set(TOOLS) - tools[agent]))
            tools[agent].add(tool)
            payload = {"agent": agent, "tool_name": tool}
            plan.append(edit(EditOp.ADD_TOOL_TO_AGENT, payload, index))
        elif kind == "remove_tool":
            tool = rng.choice(sorted(tools[agent]))
            tools[agent].discard(tool)
            payload = {"agent": agent, "tool_name": tool}
            plan.append(edit(EditOp.REMOVE_TOOL_FROM_AGENT, payload, index))
        elif kind == "describe":
            payload = {"tool_name": rng.choice(TOOLS), "new_description": f"Tool, v{index}."}
            plan.append(edit(EditOp.EDIT_TOOL_DESCRIPTION, payload, index))
        elif kind == "prompt":
            payload = {"agent": "agent_00", "new_content": prompt_text("agent_00") + f"v{index}\n"}
            plan.append(edit(EditOp.REPLACE_SYSTEM_PROMPT, payload, index))
        elif kind == "patch":
            target = AGENTS[1 + patched[agent] % (N_AGENTS - 1)]  # never agent_00
            line = patched[target]
            patched[target] += 1
            before = prompt_text(target)
            lines = before.splitlines(keepends=True)
            for n in range(line):
                lines[n] = lines[n].replace("precise.", "precise, revised.")
            current = "".join(lines)
            lines[line] = lines[line].replace("precise.", "precise, revised.")
            diff = make_unified_diff(current, "".join(lines))
            plan.append(edit(EditOp.PATCH_SYSTEM_PROMPT, {"agent": target, "diff": diff}, index))
        else:
            shots = [{"input": f"q{k}", "output": f"a{k}"} for k in range(rng.randint(1, 5))]
            plan.append(
                edit(EditOp.EDIT_FEW_SHOT_EXEMPLARS, {"agent": agent, "exemplars": shots}, index)
            )
    return plan


def run_once(template: Path, scratch: Path, plan: list[Edit]) -> tuple[float, list[float], dict]:
    home = scratch / "home"
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(template, home)
    ctx = ApplyContext(home=home, session_id="bench")
    registry = default_registry(plugins=False)
    toml_doc.DOCUMENTS.clear()  # each run parses its config afresh once
    toml_doc.PLAIN.clear()
    times: list[float] = []
    statuses: dict[str, int] = defaultdict(int)
    last = [0.0]

    def on_outcome(edit: Edit, outcome) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now
        statuses[outcome.status] += 1

    start = last[0] = time.perf_counter()
    execute_edits(
        edits=plan,
        ctx=ctx,
        autonomy_mode=AutonomyMode.AUTO,
        registry=registry,
        on_outcome=on_outcome,
    )
    return time.perf_counter() - start, times, dict(statuses)


def baseline(template: Path, scratch: Path, reps: int = 50) -> tuple[float, float]:
    """Median seconds of (tomlkit parse + dump of config.toml, one atomic write of it)."""
    text = (template / "config.toml").read_text()
    target = scratch / "baseline.toml"
    parse_dump, write = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        data = tomlkit.dumps(tomlkit.parse(text)).encode()
        t1 = time.perf_counter()
        atomic_write_bytes(target, data)
        t2 = time.perf_counter()
        parse_dump.append(t1 - t0)
        write.append(t2 - t1)
    return statistics.median(parse_dump), statistics.median(write)


def reference_splice(text: str, header: str, key: str, value: str) -> str:
    """The reference's string splice (for comparison only: unsafe by design): in the
    section under ``header``, replace the first line that starts with ``key``."""
    lines = text.split("\n")
    start = lines.index(header) + 1
    for n in range(start, len(lines)):
        if lines[n].startswith("["):
            lines.insert(n, f"{key} = {value}")
            break
        if lines[n].startswith(key):
            lines[n] = f"{key} = {value}"
            break
    return "\n".join(lines)


def splice_baseline(template: Path, scratch: Path, plan: list[Edit]) -> float:
    """Median seconds of the reference-style splice (read, splice, write) of the plan's
    config edits, each applied to the config as it is in the template."""
    source = template / "config.toml"
    target = scratch / "splice.toml"
    target.write_bytes(source.read_bytes())
    times = []
    for edit in plan:
        p = edit.payload
        if edit.op == EditOp.SET_MODEL_FOR_QUERY_CLASS:
            args = ("[learning.routing.policy_map]", p["query_class"], f'"{p["model"]}"')
        elif edit.op == EditOp.SET_MODEL_PARAM:
            args = (f'[models."{p["model"]}"]', p["param"], str(p["value"]))
        elif edit.op in (EditOp.SET_AGENT_PARAM, EditOp.ADD_TOOL_TO_AGENT):
            key, value = (p["param"], str(p["value"])) if "param" in p else ("tools", "[]")
            header = next(
                h for h in target.read_text().split("\n") if h.startswith(f"[agent.{p['agent']}]")
            )
            args = (header, key, value)
        else:
            continue
        t0 = time.perf_counter()
        text = target.read_text()
        target.write_text(reference_splice(text, *args))
        times.append(time.perf_counter() - t0)
        target.write_bytes(source.read_bytes())
    return statistics.median(times)


def tomllib_baseline(template: Path, reps: int = 50) -> float:
    """Median seconds of one tomllib parse of config.toml."""
    text = (template / "config.toml").read_text()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        tomllib.loads(text)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="specdistill-bench-") as tmp:
        scratch = Path(tmp)
        template = scratch / "template"
        build_home(template)
        lines = len((template / "config.toml").read_text().splitlines())
        plan = build_plan(args.edits)
        run_once(template, scratch, plan[:10])  # warm-up: imports, caches

        totals: list[float] = []
        per_edit: list[float] = []
        per_op: dict[str, list[float]] = defaultdict(list)
        statuses: dict[str, int] = {}
        for _ in range(args.runs):
            total, times, statuses = run_once(template, scratch, plan)
            totals.append(total)
            per_edit += times
            for edit, seconds in zip(plan, times, strict=True):
                per_op[edit.op.value].append(seconds)
        base_parse, base_write = baseline(template, scratch)
        base_tomllib = tomllib_baseline(template)
        base_splice = splice_baseline(template, scratch, plan)

    ms = 1000.0
    median_edit = statistics.median(per_edit)
    print(
        f"spec home: config.toml {lines} lines, {N_AGENTS} agents, {N_MODELS} models, "
        f"{N_TOOLS} tools; plan: {len(plan)} edits; {args.runs} runs on fresh copies"
    )
    print(f"outcomes per run: {dict(sorted(statuses.items()))}")
    print()
    print(f"{'op':<28}{'n/run':>6}{'median ms':>11}{'p90 ms':>9}")
    for op in EditOp:
        values = per_op.get(op.value)
        if values:
            n = len(values) // args.runs
            print(
                f"{op.value:<28}{n:>6}{statistics.median(values) * ms:>11.2f}"
                f"{p90(values) * ms:>9.2f}"
            )
    print()
    print(
        f"per edit (validate + apply): median {median_edit * ms:.2f} ms, "
        f"p90 {p90(per_edit) * ms:.2f} ms, mean {statistics.fmean(per_edit) * ms:.2f} ms"
    )
    print(
        f"total per {len(plan)}-edit run: median {statistics.median(totals):.2f} s "
        f"(min {min(totals):.2f}, max {max(totals):.2f})"
    )
    print()
    base = base_parse + base_write
    print(
        f"baseline: tomlkit parse+dump {base_parse * ms:.2f} ms, "
        f"atomic write {base_write * ms:.2f} ms, sum {base * ms:.2f} ms"
    )
    print(
        f"ratio: median edit / baseline sum = {median_edit / base:.1f}x "
        f"(/ parse+dump alone = {median_edit / base_parse:.1f}x)"
    )
    print(
        f"one tomllib parse of config.toml: {base_tomllib * ms:.2f} ms; "
        f"median edit / tomllib parse = {median_edit / base_tomllib:.1f}x (target <= 3x)"
    )
    print(
        f"reference-style string splice (read, splice, write; unsafe): {base_splice * ms:.2f} ms; "
        f"median edit / splice = {median_edit / base_splice:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
