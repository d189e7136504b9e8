"""The offline quickstart: an example spec home and a full gated session on it.

:func:`create_example_home` copies the bundled example (``data/``: the spec, a
benchmark of 4 clusters x 40 tasks and a plan of 8 edits) into a directory;
:func:`run_quickstart` then makes its git baseline and runs the plan as a session in
tiered mode through the sequential gate, with the bundled deterministic agent
(:mod:`specdistill.example.agent`) as the student. No network, no model: it takes a
few seconds, and gives the same outcomes every time:

=====================  ========================  ========================================
edit                   op                        outcome
=====================  ========================  ========================================
e1-calculator-exact    edit_tool_description     applied: arithmetic 0.25 -> 1.00
e2-route-geo-big       set_model_for_query_class applied: capitals 0.30 -> 1.00
e3-warmer              set_model_param           rejected: the agent slips everywhere
e4-drop-calculator     remove_tool_from_agent    rejected: arithmetic falls back
e5-more-turns          set_agent_param           rejected: no effect (inconclusive)
e6-concise-prompt      patch_system_prompt       pending_review (review tier)
e7-terse-examples      edit_few_shot_exemplars   pending_review (review tier)
e8-lora                lora_finetune             skipped (manual tier)
=====================  ========================  ========================================
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from specdistill.checkpoint.run import Notify, init_checkpoints
from specdistill.errors import InvalidInput
from specdistill.fsio import atomic_write_bytes
from specdistill.models import AutonomyMode, LearningSession
from specdistill.plan import load_plan
from specdistill.sessions.run import Progress, run_session

#: The example's plan, copied into the home's top level (it is not part of the spec).
PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class QuickstartResult:
    """Where the example home is, what setting it up did, and the session that ran."""

    home: Path
    notes: list[str]
    session: LearningSession

    @property
    def session_dir(self) -> Path:
        return self.home / "learning" / "sessions" / self.session.id


def example_data() -> Traversable:
    """The bundled example home's files (package data)."""
    return resources.files("specdistill.example").joinpath("data")


def create_example_home(directory: str | os.PathLike[str] | None = None) -> Path:
    """Copy the example home into ``directory`` (default: a new temporary directory).

    Refuses a ``directory`` that exists and is not empty, or is not a directory, so the
    quickstart never mixes its files into someone's work.
    """
    if directory is None:
        root = Path(tempfile.mkdtemp(prefix="specdistill-quickstart-"))
    else:
        root = Path(directory).expanduser().absolute()
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"{root} exists and is not a directory")
        if root.is_dir() and any(root.iterdir()):
            raise InvalidInput(
                f"{root} is not empty: the quickstart creates its example home in a new "
                "or empty directory",
                hint="pass a new directory, or none for a temporary one",
            )
        root.mkdir(parents=True, exist_ok=True)
    _copy_tree(example_data(), root)
    return root


def _copy_tree(source: Traversable, destination: Path) -> None:
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name.startswith((".", "__")):
            continue  # editor droppings, __pycache__
        target = destination / entry.name
        if entry.is_dir():
            target.mkdir(exist_ok=True)
            _copy_tree(entry, target)
        else:
            atomic_write_bytes(target, entry.read_bytes(), mode=0o644)


def run_quickstart(
    directory: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> QuickstartResult:
    """Create the example home, make its git baseline, and run its plan as a session.

    Tiered mode, sequential gate: auto-tier edits are applied and gated, review-tier
    ones are queued for ``specdistill review``, the manual-tier one is skipped.
    """
    root = create_example_home(directory)
    notes = init_checkpoints(root)
    session = run_session(
        root,
        load_plan(root / PLAN_FILE),
        mode=AutonomyMode.TIERED,
        gate_mode="sequential",
        progress=progress,
        notify=notify,
    )
    return QuickstartResult(root, notes, session)
