"""The student protocol: what your agent receives for each benchmark task, versioned.

A ``command`` student reads one JSON document on stdin and prints its answer; a
``python`` student is called with the same three parts as arguments
(``function(task, spec_home, spec)``). The document::

    {"protocol": 1,
     "spec_home": "/abs/path/of/the/home/being/evaluated",
     "task": {<the benchmark task: id, input, cluster, reference, scorer, ...>},
     "spec": {<the resolved spec for this task: agent, model, params, prompt, ...>}}

``spec`` is :meth:`StudentSpec.as_json <specdistill.evaluation.spec_view.StudentSpec.as_json>`:
the agent that serves the task, its model (routing first), the params (the model's
merged with the agent's; the agent's win), the system prompt, the few-shot exemplars as
``[input, output]`` pairs and the tools as ``[name, description]`` pairs. ``spec_home`` is
the copy of the home being evaluated (the gate evaluates a candidate in a scratch copy):
an agent that reads its own files must read them there, never from a fixed path.

:func:`student_input_schema` is the JSON Schema of the document (``specdistill schema
--student``). :data:`STUDENT_PROTOCOL` is bumped when the document changes meaning; a
change that only adds keys keeps it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import StudentSpec

#: The version of the document a student receives.
STUDENT_PROTOCOL = 1


class SpecDocument(BaseModel):
    """The resolved spec a student receives for one task (``StudentSpec.as_json()``)."""

    model_config = ConfigDict(extra="forbid")

    view_version: Literal[1] = Field(description="bumped when the view changes meaning")
    agent: str = Field(description="the agent serving the task")
    agent_class: str | None = Field(description="[agent.<a>] class, if any")
    model: str = Field(
        description="routing: policy_map[query_class], else the agent's model, "
        "else policy_map.default / general"
    )
    params: dict[str, JsonValue] = Field(
        description="[models.<model>] merged with [agent.<a>] (the agent's value wins); "
        "class, tools and model are not params"
    )
    system_prompt: str = Field(description="agents/<a>/system_prompt.md ('' if absent)")
    few_shot: list[tuple[str, str]] = Field(
        description="agents/<a>/few_shot.json as [input, output] pairs"
    )
    tools: list[tuple[str, str]] = Field(
        description="the agent's tools as [name, description from tools/descriptions.toml]"
    )


class StudentDocument(BaseModel):
    """What a ``command`` student reads on stdin (and a ``python`` student gets as args)."""

    model_config = ConfigDict(extra="forbid", title="specdistill student input")

    protocol: Literal[1] = Field(description="the protocol version (STUDENT_PROTOCOL)")
    spec_home: str = Field(description="absolute path of the home being evaluated")
    task: Task
    spec: SpecDocument


def student_document(task: Task, spec: StudentSpec) -> dict[str, Any]:
    """The document a student receives for ``task`` under ``spec``."""
    return {
        "protocol": STUDENT_PROTOCOL,
        "spec_home": str(spec.home),
        "task": task.as_json(),
        "spec": spec.as_json(),
    }


def student_input_schema() -> dict[str, Any]:
    """The JSON Schema of :func:`student_document` (``specdistill schema --student``)."""
    schema = StudentDocument.model_json_schema()
    schema["description"] = (
        f"specdistill student protocol {STUDENT_PROTOCOL}: a `command` student reads this "
        "on stdin and prints its answer on stdout; a `python` student is called as "
        "function(task, spec_home, spec). See docs/your-agent.md."
    )
    return schema
