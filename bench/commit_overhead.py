#!/usr/bin/env python3
"""Bench: what one git checkpoint costs per applied edit.

Applies the same plan to fresh spec homes with checkpoints (lock, journal with
fsync, one git commit per edit) and without, several times, interleaved. Per-edit
costs are slopes between a small and a large plan, so the fixed cost of a run
(lock, recovery check, dirty check, private index) is reported apart:

    per-edit cost   = (T(large) - T(small)) / (large - small)
    overhead / edit = per-edit cost with checkpoints - per-edit cost without
    fixed / run     = T_ckpt(small) - T_plain(small) - small * overhead

Every figure is the median over runs. Git processes are counted the same way
(slope of ``specdistill.checkpoint.git.spawn_count()``), and a ``--big``-edit
checkpointed apply is timed whole (target: 200 edits in <= 2 s). For scale, the
per-edit figures are also given as multiples of one ``tomllib`` parse of the
home's config.toml. Usage::

    python3 bench/commit_overhead.py [--runs 7] [--small 2] [--large 22] [--big 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from apply_overhead import tomllib_baseline
from specdistill import Edit, EditOp, EditPillar, LearningPlan, init_home
from specdistill.apply import apply_plan
from specdistill.checkpoint import init_checkpoints
from specdistill.checkpoint.git import spawn_count


def make_plan(n: int) -> LearningPlan:
    """``n`` applicable edits, each changing something, over three files."""
    edits = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            op, pillar = EditOp.SET_MODEL_PARAM, EditPillar.INTELLIGENCE
            payload = {"model": "small-model", "param": "temperature", "value": (i % 20) / 10}
        elif kind == 1:
            op, pillar = EditOp.SET_AGENT_PARAM, EditPillar.AGENT
            payload = {"agent": "assistant", "param": "max_turns", "value": 5 + i}
        elif kind == 2:
            op, pillar = EditOp.EDIT_TOOL_DESCRIPTION, EditPillar.TOOLS
            payload = {"tool_name": "calculator", "new_description": f"Arithmetic, take {i}."}
        else:
            op, pillar = EditOp.EDIT_FEW_SHOT_EXEMPLARS, EditPillar.AGENT
            payload = {"agent": "assistant", "exemplars": [{"input": f"{i}+1?", "output": "ok"}]}
        edits.append(Edit(id=f"e{i}", op=op, pillar=pillar, payload=payload, rationale="bench"))
    return LearningPlan(session_id="bench", edits=edits)


def time_apply(scratch: Path, plan: LearningPlan, checkpoint: bool) -> tuple[float, int]:
    """Seconds and git processes of one apply of ``plan`` to a fresh home."""
    home = Path(tempfile.mkdtemp(dir=scratch))
    init_home(home)
    if checkpoint:
        init_checkpoints(home)  # the baseline commit is made once per home: not timed
    spawned = spawn_count()
    started = time.perf_counter()
    report = apply_plan(plan, home, mode="auto", checkpoint=checkpoint)
    elapsed = time.perf_counter() - started
    applied = sum(o.status == "applied" for o in report.outcomes)
    if applied != len(plan.edits):
        raise SystemExit(f"bench plan did not apply cleanly: {report.outcomes}")
    return elapsed, spawn_count() - spawned


def tomllib_parse_seconds(scratch: Path) -> float:
    """Median seconds of one tomllib parse of a fresh home's config.toml."""
    home = Path(tempfile.mkdtemp(dir=scratch))
    init_home(home)
    return tomllib_baseline(home)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--small", type=int, default=2)
    parser.add_argument("--large", type=int, default=22)
    parser.add_argument("--big", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    small, large = make_plan(args.small), make_plan(args.large)
    span = args.large - args.small
    rows = []
    with tempfile.TemporaryDirectory(prefix="specdistill-bench-") as tmp:
        scratch = Path(tmp)
        time_apply(scratch, small, True)  # warm-up: imports, caches
        for _ in range(args.runs):
            jobs = [(p, c) for p in ("small", "large") for c in (False, True)]
            random.shuffle(jobs)  # interleaved, so drift hits both sides alike
            m = {(p, c): time_apply(scratch, small if p == "small" else large, c) for p, c in jobs}
            t = {key: value[0] for key, value in m.items()}
            plain = (t["large", False] - t["small", False]) / span
            ckpt = (t["large", True] - t["small", True]) / span
            overhead = ckpt - plain
            fixed = t["small", True] - t["small", False] - args.small * overhead
            git_per_edit = (m["large", True][1] - m["small", True][1]) / span
            rows.append(
                {
                    "plain": plain,
                    "checkpoint": ckpt,
                    "overhead": overhead,
                    "fixed": fixed,
                    "git": git_per_edit,
                }
            )
        big_seconds, big_spawns = time_apply(scratch, make_plan(args.big), True)
        parse = tomllib_parse_seconds(scratch)
    median = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    result = {
        "runs": args.runs,
        "edits": [args.small, args.large],
        "plain_ms_per_edit": round(median["plain"] * 1000, 2),
        "checkpoint_ms_per_edit": round(median["checkpoint"] * 1000, 2),
        "commit_overhead_ms_per_edit": round(median["overhead"] * 1000, 2),
        "ratio": round(median["checkpoint"] / median["plain"], 2),
        "fixed_ms_per_run": round(median["fixed"] * 1000, 2),
        "git_processes_per_edit": round(median["git"], 2),
        "tomllib_parse_ms": round(parse * 1000, 3),
        "overhead_per_tomllib_parse": round(median["overhead"] / parse, 1),
        "big_edits": args.big,
        "big_checkpointed_apply_s": round(big_seconds, 2),
        "big_git_processes": big_spawns,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"commit overhead per edit ({args.runs} runs, plans of {args.small} and {args.large})")
    print(f"  apply without checkpoints : {result['plain_ms_per_edit']:8.2f} ms / edit")
    print(f"  apply with checkpoints    : {result['checkpoint_ms_per_edit']:8.2f} ms / edit")
    print(f"  median overhead           : {result['commit_overhead_ms_per_edit']:8.2f} ms / edit")
    print(f"  ratio                     : {result['ratio']:8.2f} x")
    print(f"  fixed cost per run        : {result['fixed_ms_per_run']:8.2f} ms (lock, checks)")
    print(f"  git processes per edit    : {result['git_processes_per_edit']:8.2f} (target <= 2)")
    print(
        f"  one tomllib parse         : {result['tomllib_parse_ms']:8.3f} ms "
        f"(overhead = {result['overhead_per_tomllib_parse']}x of it)"
    )
    print(
        f"  {args.big}-edit checkpointed apply: {result['big_checkpointed_apply_s']:6.2f} s, "
        f"{big_spawns} git processes (target <= 2 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
