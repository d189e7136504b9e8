"""Before any student runs: which of a plan's edits can the benchmark accept at all?

The gate's best case is computed from its own tests (:func:`specdistill.gate.sizing.
min_tasks`): a target cluster with fewer tasks than it takes to prove an improvement, or
an off-target cluster the edit can change with fewer tasks than it takes to rule out a
drop of ``eps`` there, and the edit ends "inconclusive" whatever it does. Which
off-target clusters an edit can change is what the gate itself will find: the edit is
previewed on a scratch copy of the spec (nothing in the home is written) and the gate's
unchanged-task rule compares the two. Edits are previewed against the spec as it stands
now, before the plan's earlier edits; a warning, not a decision.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path

from specdistill.appliers.base import EditApplier, FileEditApplier
from specdistill.appliers.registry import default_registry
from specdistill.context import ApplyContext
from specdistill.errors import SpecdistillError
from specdistill.execute import route_edit
from specdistill.fsio import atomic_write_bytes
from specdistill.gate.driver import BenchmarkGate
from specdistill.gate.sizing import edit_shortfall, min_tasks
from specdistill.home import SpecHome, copy_spec
from specdistill.models import AutonomyMode, Edit
from specdistill.tiers import assign_tiers

#: How many edits the one-line notice names before "and N more".
NAMED = 3


def plan_shortfalls(
    gate: BenchmarkGate, home: SpecHome, edits: Sequence[Edit], mode: AutonomyMode
) -> list[tuple[str, str]]:
    """(edit id, why) for each edit the gate will judge that the benchmark cannot accept,
    in plan order. Edits that do not reach the gate (queued, skipped) are left out, and
    so is the ``mean`` rule, which has no sizing."""
    if gate.config.mode != "sequential":
        return []
    tasks = gate.benchmark.tasks
    counts = dict(Counter(task.cluster for task in tasks))
    sizing = min_tasks(gate.config)
    registry = default_registry()
    ctx = ApplyContext(home=home.root)
    found = []
    for edit in assign_tiers(list(edits), ctx.tier_overrides()):
        if route_edit(edit, mode, registry.is_supported(edit.op)) is not None:
            continue  # not gated: queued or skipped before the gate
        changed = _changed_clusters(gate, home, registry.get(edit.op), edit, ctx)
        why = edit_shortfall(sizing, edit.gate_cluster, counts, changed)
        if why is not None:
            found.append((edit.id, why))
    return found


def _changed_clusters(
    gate: BenchmarkGate, home: SpecHome, applier: EditApplier, edit: Edit, ctx: ApplyContext
) -> Collection[str] | None:
    """The clusters with a task whose student-visible inputs the edit changes; None when
    unknown (no unchanged rule, a plug-in applier, an edit that does not apply now)."""
    if gate.unchanged_tasks is None or not isinstance(applier, FileEditApplier):
        return None
    try:
        changes = applier.preview(edit, ctx)
    except SpecdistillError:
        return None  # it will be rejected by validation, with its reason
    with tempfile.TemporaryDirectory(prefix="sd-preflight-") as scratch:
        candidate = copy_spec(home, Path(scratch))
        for change in changes:
            target = candidate.root / change.path.relative_to(home.root)
            if change.after is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, change.after)
        try:
            same = gate.unchanged_tasks(home, candidate, gate.benchmark.tasks)
        except SpecdistillError:
            return None
    return {task.cluster for task in gate.benchmark.tasks if task.id not in same}


def shortfall_notice(found: Sequence[tuple[str, str]]) -> str | None:
    """One line naming the edits the benchmark cannot accept, or None if there are none.

    >>> shortfall_notice([("e3", "'units' has 5 tasks: proving an improvement needs ≥ 7")])
    "warning: the benchmark cannot accept edit e3 whatever it does ('units' has 5 tasks: proving an improvement needs ≥ 7); it will end inconclusive (see: specdistill benchmark check)"
    """  # noqa: E501
    if not found:
        return None
    named = "; ".join(f"{edit_id} ({why})" for edit_id, why in found[:NAMED])
    more = f"; and {len(found) - NAMED} more" if len(found) > NAMED else ""
    if len(found) == 1:
        edit_id, why = found[0]
        return (
            f"warning: the benchmark cannot accept edit {edit_id} whatever it does ({why}); "
            "it will end inconclusive (see: specdistill benchmark check)"
        )
    return (
        f"warning: the benchmark cannot accept {len(found)} edits of the plan whatever they "
        f"do: {named}{more}; they will end inconclusive (see: specdistill benchmark check)"
    )


__all__ = ["plan_shortfalls", "shortfall_notice"]
