"""The teacher's prompts: package data files (``teacher/prompts/*.md``), not code strings.

Each task has a system and a user template, read with :mod:`importlib.resources` and
filled with :class:`string.Template` (``$name`` placeholders; ``$$`` is a literal
dollar), so braces in JSON examples need no escaping. Every user template starts with a
``TASK: <name>`` line, which tells the model (and a scripted test server) which task it
is being asked.

=================  ===========================================================
template           placeholders
=================  ===========================================================
``diagnose_*``     ``$clusters`` ``$max_clusters`` ``$sample`` ``$spec``
``plan_*``         ``$clusters`` ``$max_edits`` ``$spec``
``next_edit_*``    ``$clusters`` ``$history`` ``$spec``
``references_*``   ``$items``
=================  ===========================================================

``$vocabulary`` (any template) is filled by :func:`edit_vocabulary`, from the op
declarations (``specdistill.payloads.DECLARATIONS``): a new op reaches the teacher
without touching a prompt.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from string import Template
from typing import Any

from specdistill.payloads import DECLARATIONS

PROMPTS_PACKAGE = "specdistill.teacher"
NAMES = (
    "diagnose_system",
    "diagnose_user",
    "plan_system",
    "plan_user",
    "next_edit_system",
    "next_edit_user",
    "references_system",
    "references_user",
)


@functools.cache
def template(name: str) -> str:
    """The raw text of prompt ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise KeyError(f"no teacher prompt named {name!r}")
    return resources.files(PROMPTS_PACKAGE).joinpath("prompts", f"{name}.md").read_text("utf-8")


def render(name: str, **values: Any) -> str:
    """Prompt ``name`` with its placeholders filled (a missing one raises KeyError)."""
    filled = {k: v if isinstance(v, str) else block(v) for k, v in values.items()}
    return Template(template(name)).substitute({"vocabulary": edit_vocabulary(), **filled})


@functools.cache
def edit_vocabulary() -> str:
    """One line per op: its payload keys, and what the teacher must know about them."""
    lines = []
    for declared in DECLARATIONS:
        keys = ", ".join(declared.payload.model_fields)
        note = f" ({declared.teacher_note})" if declared.teacher_note else ""
        lines.append(f"- {declared.op.value}: {keys}{note}")
    return "\n".join(lines)


def block(value: Any) -> str:
    """JSON for a prompt: indented for the model to read, non-ASCII kept as is."""
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=False)
