"""What leaves the machine: the scrubbed, bounded sample of traces and spec the teacher sees.

Nothing is sent to the teacher except what this module builds:

* **Traces** – only *failing* traces (feedback ``< low_feedback``), at most ``max_traces``
  of them and ``max_sample_chars`` characters in all, each field cut to
  ``max_field_chars``. Only the fields ``[specdistill.teacher] share`` lists are
  included (default ``["query", "answer", "feedback", "query_class"]``; also allowed:
  ``"agent"``, ``"tool_calls"``). Trace ids never leave: each trace gets an alias
  (``T1``, ``T2``, …) that the teacher cites and we map back. ``metadata`` and
  timestamps are never sent.
* **Spec** – per agent: its class, model, params, system prompt, few-shot exemplars and
  tools with descriptions (the :class:`~specdistill.evaluation.spec_view.StudentSpec`
  view), and the routing map. Each text is cut to ``max_spec_chars``.
* **Scrubbing** – every string above goes through the :class:`Scrubber` *before* it is
  cut (so a cut cannot leave half a secret that no longer matches): e-mail addresses,
  API-key-like strings (``sk-…``, ``ghp_…``, ``AKIA…``, ``xox?-…``, ``AIza…``, bearer
  tokens, ``password=…``-style assignments, long mixed letter-digit tokens) and runs of
  9 or more digits (phones, cards, account numbers) become ``[redacted:<kind>]``.
  ``[specdistill.teacher.scrub] disable = [...]`` turns built-in kinds off and
  ``[specdistill.teacher.scrub.patterns] name = "regex"`` adds your own.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from specdistill.errors import SpecdistillError
from specdistill.evaluation.spec_view import SpecFiles
from specdistill.teacher.traces import Trace, TraceThresholds

#: Built-in scrub patterns, applied in this order.
DEFAULT_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "bearer": r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}",
    "assignment": r"(?i)\b(?:api[_-]?key|secret|token|password|passwd|pwd)\b\s*[:=]\s*\S+",
    "api_key": (
        r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}"
        r"|\bAKIA[0-9A-Z]{16}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{30,}"
    ),
    # A whole base64 / base64url run (``/``, ``+`` and ``=`` padding included) of 32+
    # characters mixing upper case, lower case and digits (AWS-style secret keys, whose
    # pieces between ``/`` are short); else any 32+ run of letters, digits, ``_`` and ``-``.
    "long_token": (
        r"(?<![A-Za-z0-9+/=_-])(?=[A-Za-z0-9+/_-]*\d)(?=[A-Za-z0-9+/_-]*[a-z])"
        r"(?=[A-Za-z0-9+/_-]*[A-Z])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/=_-])"
        r"|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
    ),
    "long_digits": r"(?<!\d)\d(?:[ .-]?\d){8,}(?!\d)",
}
SHAREABLE = ("query", "answer", "feedback", "query_class", "agent", "tool_calls")
DEFAULT_SHARE = frozenset({"query", "answer", "feedback", "query_class"})
TRUNCATED = "…[truncated]"


@dataclass(frozen=True)
class Scrubber:
    """Named regexes whose matches are replaced by ``[redacted:<name>]``."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def build(cls, extra: Mapping[str, str] | None = None, disable: Iterable[str] = ()) -> Scrubber:
        """The built-in patterns minus ``disable``, plus ``extra``; raises ValueError on a
        bad regex or an unknown kind to disable."""
        disabled = set(disable)
        unknown = disabled - set(DEFAULT_PATTERNS)
        if unknown:
            raise ValueError(f"unknown scrub kind(s) to disable: {', '.join(sorted(unknown))}")
        chosen = {k: v for k, v in DEFAULT_PATTERNS.items() if k not in disabled}
        chosen.update(extra or {})
        compiled = []
        for name, pattern in chosen.items():
            try:
                compiled.append((name, re.compile(pattern)))
            except re.error as exc:
                raise ValueError(f"scrub pattern {name!r} does not compile ({exc})") from None
        return cls(tuple(compiled))

    def scrub(self, text: str, counts: Counter[str] | None = None) -> str:
        """``text`` with every match replaced; ``counts`` (if given) tallies them by kind."""
        for name, pattern in self.patterns:
            text, n = pattern.subn(f"[redacted:{name}]", text)
            if counts is not None and n:
                counts[name] += n
        return text


@dataclass(frozen=True)
class SharePolicy:
    """Which trace fields leave the machine, scrubbed how, and how much of them."""

    share: frozenset[str] = DEFAULT_SHARE
    scrubber: Scrubber = field(default_factory=Scrubber.build)
    max_traces: int = 40
    max_field_chars: int = 2000
    max_sample_chars: int = 60_000
    max_spec_chars: int = 20_000

    def __post_init__(self) -> None:
        unknown = set(self.share) - set(SHAREABLE)
        if unknown:
            raise ValueError(
                f"share: unknown field(s) {', '.join(sorted(unknown))} "
                f"(allowed: {', '.join(SHAREABLE)})"
            )
        if "query" not in self.share:
            raise ValueError("share must include 'query': the teacher cannot diagnose without it")
        if min(self.max_traces, self.max_field_chars, self.max_sample_chars) < 1:
            raise ValueError("sample limits must be >= 1")

    def text(self, value: str, limit: int, counts: Counter[str]) -> str:
        """Scrub, then cut to ``limit`` characters (in that order)."""
        clean = self.scrubber.scrub(value, counts)
        return clean if len(clean) <= limit else clean[:limit] + TRUNCATED


@dataclass(frozen=True)
class TraceSample:
    """The failing traces exactly as sent, and how to map the teacher's citations back."""

    entries: tuple[dict[str, Any], ...]
    aliases: Mapping[str, str]  # alias ("T1") -> trace id
    redactions: Mapping[str, int]  # scrub kind -> matches replaced
    omitted: int  # failing traces left out by the caps

    def trace_id(self, alias: str) -> str | None:
        return self.aliases.get(alias)

    def as_json(self) -> dict[str, Any]:
        return {
            "entries": list(self.entries),
            "aliases": dict(self.aliases),
            "redactions": dict(self.redactions),
            "omitted": self.omitted,
        }


def _stable(trace_id: str) -> str:
    return hashlib.sha256(trace_id.encode("utf-8")).hexdigest()


def _entry(trace: Trace, alias: str, policy: SharePolicy, counts: Counter[str]) -> dict[str, Any]:
    limit = policy.max_field_chars
    entry: dict[str, Any] = {"id": alias}
    if "query" in policy.share:
        entry["query"] = policy.text(trace.query, limit, counts)
    if "answer" in policy.share:
        entry["answer"] = policy.text(trace.answer, limit, counts)
    if "feedback" in policy.share:
        entry["feedback"] = trace.feedback
    if "query_class" in policy.share and trace.query_class is not None:
        entry["query_class"] = policy.text(trace.query_class, 200, counts)
    if "agent" in policy.share and trace.agent is not None:
        entry["agent"] = trace.agent
    if "tool_calls" in policy.share and trace.tool_calls:
        calls = json.dumps(
            [c.model_dump(mode="json") for c in trace.tool_calls], ensure_ascii=False
        )
        entry["tool_calls"] = policy.text(calls, limit, counts)
    return entry


def select_failing(traces: Sequence[Trace], thresholds: TraceThresholds) -> list[Trace]:
    """Failing traces in sampling order: round-robin over query classes (so every class is
    represented), each class worst-rated first; ties broken by a stable hash of the id."""
    groups: dict[str, list[Trace]] = {}
    for trace in traces:
        if thresholds.is_failing(trace):
            groups.setdefault(trace.query_class or "", []).append(trace)
    queues = [
        sorted(groups[name], key=lambda t: (t.feedback, _stable(t.id))) for name in sorted(groups)
    ]
    ordered: list[Trace] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def build_sample(
    traces: Sequence[Trace], policy: SharePolicy, thresholds: TraceThresholds
) -> TraceSample:
    """The bounded, scrubbed sample of failing traces (see the module docstring)."""
    counts: Counter[str] = Counter()
    failing = select_failing(traces, thresholds)
    entries: list[dict[str, Any]] = []
    aliases: dict[str, str] = {}
    total = 0
    for trace in failing:
        if len(entries) >= policy.max_traces:
            break
        alias = f"T{len(entries) + 1}"
        trial: Counter[str] = Counter()
        entry = _entry(trace, alias, policy, trial)
        size = len(json.dumps(entry, ensure_ascii=False))
        if entries and total + size > policy.max_sample_chars:
            break
        total += size
        counts.update(trial)
        entries.append(entry)
        aliases[alias] = trace.id
    return TraceSample(tuple(entries), aliases, dict(counts), len(failing) - len(entries))


def spec_context(
    files: SpecFiles, policy: SharePolicy, counts: Counter[str] | None = None
) -> dict[str, Any]:
    """The current spec as the teacher sees it: routing, and per agent its student view."""
    counts = counts if counts is not None else Counter()
    limit = policy.max_spec_chars
    routing: Any = files.config
    for key in ("learning", "routing", "policy_map"):
        routing = routing.get(key, {}) if isinstance(routing, dict) else {}
    agents: list[dict[str, Any]] = []
    for name in files.declared_agents():
        try:
            view = files.view(query_class=None, agent=name)
        except SpecdistillError as exc:
            agents.append({"agent": name, "unavailable": exc.message})
            continue
        agents.append(
            {
                "agent": view.agent,
                "class": view.agent_class,
                "model": view.model,
                "params": dict(view.params),
                "system_prompt": policy.text(view.system_prompt, limit, counts),
                "few_shot": [
                    {
                        "input": policy.text(e.input, policy.max_field_chars, counts),
                        "output": policy.text(e.output, policy.max_field_chars, counts),
                    }
                    for e in view.few_shot
                ],
                "tools": [
                    {"name": t.name, "description": policy.text(t.description, 2000, counts)}
                    for t in view.tools
                ],
            }
        )
    return {"routing": routing if isinstance(routing, dict) else {}, "agents": agents}
