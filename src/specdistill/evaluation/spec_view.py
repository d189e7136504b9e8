"""The student's view of a spec: exactly what a student reads from the home for one task.

:func:`student_spec` is a pure function of the home's files and the task's
``query_class`` and ``agent``. It resolves, in this order:

**Agent** – the task's ``agent``; else ``[specdistill.student] agent`` in config.toml;
else OpenJarvis's ``[agent] default_agent``; else the only agent config.toml declares;
otherwise an error (ambiguous). The agent must be declared as ``[agent.<a>]`` (a table:
``[agent]``'s own scalar keys are not agents), be the ``default_agent``, or have a folder
``agents/<a>/``.

**Model** – first match wins:

1. ``[learning.routing.policy_map] <query_class>`` for the task's query class;
2. the agent's own ``model`` key (``[agent.<a>] model = "..."``);
3. ``policy_map.default``, then ``policy_map.general`` (the catch-all classes);
4. OpenJarvis's ``[intelligence] default_model`` (what OpenJarvis serves a query with
   when no route matches);
5. otherwise an error naming the task's query class.

Routing comes first so that a ``set_model_for_query_class`` edit is always seen by the
tasks of that class: an edit the student never sees is not an edit.

**Params** – ``[models."<model>"]`` merged with ``[agent.<a>]``; the agent's value wins
on a shared key (it is the more specific setting). The agent keys ``class``, ``tools``
and ``model`` are not params, and sub-tables are ignored. Params are kept whole here
(``max_turns`` included); each student decides which ones it can send.

**Prompt, exemplars, tools** – ``agents/<a>/system_prompt.md`` (absent: empty),
``agents/<a>/few_shot.json`` (absent: none; a list of ``{"input", "output"}`` objects,
other keys ignored), and the agent's ``tools`` in order, each with its ``description``
from ``tools/descriptions.toml`` (absent: empty).

:meth:`StudentSpec.fingerprint` hashes exactly these resolved parts, never the home's
path or any other file, so editing agent A leaves the fingerprints of agent B's tasks
alone, and editing a tool description changes only agents that list that tool.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from specdistill.errors import UnsafePath
from specdistill.evaluation.errors import EvaluationConfigError
from specdistill.evaluation.hashing import sha256_hex
from specdistill.home import SpecHome

#: Agent keys that are not model params.
AGENT_NON_PARAM_KEYS = frozenset({"class", "tools", "model"})
#: Routing classes tried, in order, when the task's own class has no route.
FALLBACK_CLASSES = ("default", "general")
#: Bump when the meaning of a view changes, so old cache entries stop matching.
VIEW_VERSION = 1


@dataclass(frozen=True)
class Exemplar:
    """One few-shot exemplar: a prior user turn and the assistant's answer."""

    input: str
    output: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool the agent may call, with the description the model sees."""

    name: str
    description: str


@dataclass(frozen=True)
class StudentSpec:
    """What a student reads from the spec for one task. Build with :func:`student_spec`.

    ``home`` and ``model_source`` (which rule chose the model) are for students and
    messages; they are not part of the fingerprint.
    """

    agent: str
    agent_class: str | None
    model: str
    params: Mapping[str, Any]
    system_prompt: str
    few_shot: tuple[Exemplar, ...]
    tools: tuple[ToolSpec, ...]
    home: Path = field(default=Path("."), compare=False)
    model_source: str = field(default="", compare=False)

    def as_json(self) -> dict[str, Any]:
        """The fingerprinted parts as plain JSON data."""
        return {
            "view_version": VIEW_VERSION,
            "agent": self.agent,
            "agent_class": self.agent_class,
            "model": self.model,
            "params": dict(self.params),
            "system_prompt": self.system_prompt,
            "few_shot": [[e.input, e.output] for e in self.few_shot],
            "tools": [[t.name, t.description] for t in self.tools],
        }

    def fingerprint(self) -> str:
        """sha256 of exactly the parts this student reads for this task."""
        return sha256_hex(self.as_json())


def _jsonable(value: Any) -> Any:
    """TOML values as JSON data (dates, times and non-finite floats become strings)."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # TOML allows nan/inf; JSON does not
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _table(doc: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = doc
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return {}
    if not isinstance(node, dict):
        raise EvaluationConfigError(f"config.toml: {'.'.join(keys)} is not a table")
    return node


class SpecFiles:
    """The parsed files of one home, read once and shared by many task views.

    Agent files are read on first use. Build one per spec state: it does not notice later
    edits to the home.
    """

    def __init__(self, home: str | os.PathLike[str] | SpecHome) -> None:
        self.home = home if isinstance(home, SpecHome) else SpecHome(home)
        self.config = self._toml(self.home.config_path, "config.toml", required=True)
        self.catalog = self._toml(
            self.home.tool_descriptions_path, "tools/descriptions.toml", required=False
        )
        self._agents: dict[str, tuple[str, tuple[Exemplar, ...]]] = {}

    @staticmethod
    def _toml(path: Path, label: str, *, required: bool) -> dict[str, Any]:
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except FileNotFoundError:
            if required:
                raise EvaluationConfigError(f"{label} not found in the spec home") from None
            return {}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise EvaluationConfigError(f"{label} is not valid TOML ({exc})") from None

    def agent_files(self, agent: str) -> tuple[str, tuple[Exemplar, ...]]:
        """The agent's system prompt and few-shot exemplars (cached)."""
        if agent not in self._agents:
            self._agents[agent] = (self._prompt(agent), self._few_shot(agent))
        return self._agents[agent]

    def _prompt(self, agent: str) -> str:
        try:
            return self.home.system_prompt_path(agent).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError:
            raise EvaluationConfigError(f"agents/{agent}/system_prompt.md is not UTF-8") from None

    def _few_shot(self, agent: str) -> tuple[Exemplar, ...]:
        label = f"agents/{agent}/few_shot.json"
        try:
            data = json.loads(self.home.few_shot_path(agent).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EvaluationConfigError(f"{label} is not valid JSON ({exc})") from None
        if not isinstance(data, list):
            raise EvaluationConfigError(f"{label} must be a JSON list of exemplars")
        exemplars = []
        for i, item in enumerate(data):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("input"), str)
                and isinstance(item.get("output"), str)
            ):
                raise EvaluationConfigError(
                    f"{label}[{i}] must be an object with string 'input' and 'output'"
                )
            exemplars.append(Exemplar(item["input"], item["output"]))
        return tuple(exemplars)

    def declared_agents(self) -> list[str]:
        """``[agent.<a>]`` tables, and OpenJarvis's ``[agent] default_agent``."""
        agents = _table(self.config, "agent")
        names = {name for name, value in agents.items() if isinstance(value, dict)}
        default = agents.get("default_agent")
        return sorted(names | {default} if isinstance(default, str) and default else names)

    def resolve_agent(self, agent: str | None) -> str:
        """The agent a task is served by (see the module docstring for the rule)."""
        if agent is None:
            default = _table(self.config, "specdistill", "student").get("agent")
            default_agent = _table(self.config, "agent").get("default_agent")
            if isinstance(default, str):
                agent = default
            elif isinstance(default_agent, str) and default_agent:
                agent = default_agent
            elif len(self.declared_agents()) == 1:
                agent = self.declared_agents()[0]
            else:
                known = ", ".join(self.declared_agents()) or "none"
                raise EvaluationConfigError(
                    f"a task names no agent and the spec has no single default "
                    f"(config.toml declares: {known}); set the task's 'agent' or "
                    "[specdistill.student] agent"
                )
        try:
            declared = agent in self.declared_agents() or self.home.agent_dir(agent).is_dir()
        except UnsafePath as exc:
            raise EvaluationConfigError(exc.message) from None
        if not declared:
            known = ", ".join(self.declared_agents()) or "none"
            raise EvaluationConfigError(f"unknown agent {agent!r} (config.toml declares: {known})")
        return agent

    def resolve_model(
        self, query_class: str | None, agent_table: Mapping[str, Any]
    ) -> tuple[str, str]:
        """(model, the rule that chose it)."""
        routes = _table(self.config, "learning", "routing", "policy_map")
        candidates: list[tuple[Any, str]] = []
        if query_class is not None:
            candidates.append((routes.get(query_class), f"policy_map.{query_class}"))
        candidates.append((agent_table.get("model"), "agent.model"))
        candidates += [(routes.get(name), f"policy_map.{name}") for name in FALLBACK_CLASSES]
        default_model = _table(self.config, "intelligence").get("default_model")
        candidates.append((default_model, "intelligence.default_model"))
        for model, source in candidates:
            if isinstance(model, str) and model:
                return model, source
        raise EvaluationConfigError(
            f"no model for query class {query_class!r}: add it to "
            "[learning.routing.policy_map], give the agent a 'model', route 'default', or "
            "set [intelligence] default_model"
        )

    def view(self, *, query_class: str | None, agent: str | None) -> StudentSpec:
        """The :class:`StudentSpec` for a task with this query class and agent."""
        name = self.resolve_agent(agent)
        agent_table = _table(self.config, "agent", name)
        model, source = self.resolve_model(query_class, agent_table)
        params: dict[str, Any] = {}
        model_table = _table(self.config, "models", model)
        for key, value in [*model_table.items(), *agent_table.items()]:
            if key not in AGENT_NON_PARAM_KEYS and not isinstance(value, dict):
                params[key] = _jsonable(value)
        prompt, few_shot = self.agent_files(name)
        tool_names = agent_table.get("tools", [])
        if not isinstance(tool_names, list) or not all(isinstance(t, str) for t in tool_names):
            raise EvaluationConfigError(f"config.toml: agent.{name}.tools must be a list of names")
        tools = []
        for tool in dict.fromkeys(tool_names):
            entry = self.catalog.get(tool)
            description = entry.get("description", "") if isinstance(entry, dict) else ""
            tools.append(ToolSpec(tool, description if isinstance(description, str) else ""))
        agent_class = agent_table.get("class")
        return StudentSpec(
            agent=name,
            agent_class=agent_class if isinstance(agent_class, str) else None,
            model=model,
            params=MappingProxyType(params),
            system_prompt=prompt,
            few_shot=few_shot,
            tools=tuple(tools),
            home=self.home.root,
            model_source=source,
        )


def student_spec(
    home: str | os.PathLike[str] | SpecHome | SpecFiles,
    *,
    query_class: str | None = None,
    agent: str | None = None,
) -> StudentSpec:
    """The student's view of ``home`` for one task (its query class and agent).

    >>> spec = student_spec("~/.openjarvis", query_class="math")  # doctest: +SKIP
    >>> spec.model, spec.fingerprint()[:12]                        # doctest: +SKIP
    """
    files = home if isinstance(home, SpecFiles) else SpecFiles(home)
    return files.view(query_class=query_class, agent=agent)
