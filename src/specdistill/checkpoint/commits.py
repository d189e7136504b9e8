"""The format of spec commits: subjects, bodies, trailers, and reading them back.

An applied edit's commit::

    set_model_param: models."small-model".temperature = 0.0

    Deterministic answers ramble less.

    Edit-ID: e2-cooler
    Session-ID: 20250101-120000-a1b2c3
    Risk-Tier: auto
    Op: set_model_param

A rollback writes one commit per reverted edit, with ``Reverts-Edit-ID``,
``Reverts-Commit``, the original ``Session-ID``/``Op``/``Risk-Tier`` and a
``Rollback-ID``; the baseline and "manual changes" checkpoints carry
``Specdistill-Checkpoint: baseline`` / ``manual-changes``. Trailer values come
from untrusted plans, so a value that is not one plain printable line is
written JSON-quoted (and decoded when read back); a forged trailer inside a
rationale cannot count, because only the message's last paragraph is read.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from specdistill.models import Edit

EDIT_ID = "Edit-ID"
SESSION_ID = "Session-ID"
RISK_TIER = "Risk-Tier"
OP = "Op"
REVERTS_EDIT_ID = "Reverts-Edit-ID"
REVERTS_COMMIT = "Reverts-Commit"
ROLLBACK_ID = "Rollback-ID"
CHECKPOINT = "Specdistill-Checkpoint"

#: ``git log --grep`` pattern that finds every commit specdistill wrote.
OURS_GREP = f"^({EDIT_ID}|{REVERTS_EDIT_ID}|{CHECKPOINT}): "

SUBJECT_MAX = 120
BODY_MAX = 8000
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def trailer_value(value: str) -> str:
    """``value`` as one safe trailer line: plain when it can be, else JSON-quoted."""
    if value and value.isprintable() and value == value.strip() and not value.startswith('"'):
        return value
    return json.dumps(value)


def decode_trailer_value(raw: str) -> str:
    if raw.startswith('"'):
        try:
            decoded = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(decoded, str):
            return decoded
    return raw


def format_trailers(trailers: dict[str, str]) -> str:
    return "".join(f"{key}: {trailer_value(value)}\n" for key, value in trailers.items())


def parse_trailers(text: str) -> dict[str, str]:
    """``%(trailers:only,unfold)`` output as a dict (the first value of each key wins)."""
    trailers: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and key not in trailers:
            trailers[key] = decode_trailer_value(value.strip())
    return trailers


def one_line(text: str, limit: int = SUBJECT_MAX) -> str:
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def clean_body(text: str) -> str:
    """Untrusted prose for a commit body: printable lines, bounded length."""
    lines = ["".join(c for c in line if c.isprintable() or c == "\t") for line in text.splitlines()]
    body = "\n".join(line.rstrip() for line in lines).strip()
    return body if len(body) <= BODY_MAX else body[: BODY_MAX - 1] + "…"


def _key(name: object) -> str:
    text = str(name)
    return text if _BARE_KEY.fullmatch(text) else json.dumps(text)


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _agent(edit: Edit) -> str:
    agent = edit.payload.get("agent")
    if agent:
        return str(agent)
    parts = edit.target.split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "agents" else "?"


def describe_edit(edit: Edit) -> str:
    """What an edit changes, in one line: ``<op>: <key> = <value>``."""
    p = edit.payload
    op = edit.op.value
    try:
        match op:
            case "set_model_for_query_class":
                key = _key(p["query_class"])
                what = f"learning.routing.policy_map.{key} = {_value(p['model'])}"
            case "set_model_param":
                what = f"models.{json.dumps(str(p['model']))}.{p['param']} = {_value(p['value'])}"
            case "set_agent_param":
                what = f"agent.{p['agent']}.{p['param']} = {_value(p['value'])}"
            case "set_agent_class":
                what = f"agent.{_agent(edit)}.class = {_value(p['new_class'])}"
            case "add_tool_to_agent":
                what = f"agent.{p['agent']}.tools += {_value(p['tool_name'])}"
            case "remove_tool_from_agent":
                what = f"agent.{p['agent']}.tools -= {_value(p['tool_name'])}"
            case "edit_tool_description":
                what = f"tools/descriptions.toml {_key(p['tool_name'])}.description"
            case "patch_system_prompt":
                what = f"patch agents/{_agent(edit)}/system_prompt.md"
            case "replace_system_prompt":
                what = f"replace agents/{_agent(edit)}/system_prompt.md"
            case "edit_few_shot_exemplars":
                count = len(p.get("exemplars") or [])
                what = f"agents/{_agent(edit)}/few_shot.json = {count} exemplars"
            case _:
                what = edit.target or edit.id
    except (KeyError, TypeError):
        what = edit.target or edit.id
    return one_line(f"{op}: {what}")


def edit_message(edit: Edit, session_id: str) -> str:
    """The commit message of an applied edit (subject, rationale, trailers)."""
    body = clean_body(edit.rationale)
    if edit.expected_improvement:
        body = (body + "\n\n" if body else "") + (
            f"Expected improvement: {one_line(edit.expected_improvement)}"
        )
    trailers = {
        EDIT_ID: edit.id,
        SESSION_ID: session_id,
        RISK_TIER: edit.risk_tier.value,
        OP: edit.op.value,
    }
    return _message(describe_edit(edit), body, trailers)


def checkpoint_message(kind: str, session_id: str | None, paths: list[str]) -> str:
    subject = {
        "baseline": "specdistill: baseline of the spec",
        "manual-changes": "specdistill: manual changes",
    }[kind]
    shown = ", ".join(paths[:10]) + (" …" if len(paths) > 10 else "")
    trailers = {CHECKPOINT: kind}
    if session_id:
        trailers[SESSION_ID] = session_id
    return _message(subject, f"Files: {shown}" if paths else "", trailers)


def _message(subject: str, body: str, trailers: dict[str, str]) -> str:
    parts = [one_line(subject)]
    if body:
        parts.append(body)
    parts.append(format_trailers(trailers).rstrip("\n"))
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class LogEntry:
    """One commit specdistill wrote, as ``specdistill log`` shows it."""

    commit: str
    kind: str  # "edit", "revert", "baseline" or "manual-changes"
    when: str  # committer date, ISO 8601
    subject: str
    edit_id: str | None = None
    op: str | None = None
    session_id: str | None = None
    tier: str | None = None
    reverts_commit: str | None = None
    rollback_id: str | None = None

    @property
    def short(self) -> str:
        return self.commit[:10]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "short": self.short}

    @classmethod
    def from_trailers(
        cls, commit: str, when: str, subject: str, trailers: dict[str, str]
    ) -> LogEntry | None:
        """The entry for a commit, or None when specdistill did not write it."""
        common: dict[str, Any] = {
            "commit": commit,
            "when": when,
            "subject": subject,
            "op": trailers.get(OP),
            "session_id": trailers.get(SESSION_ID),
            "tier": trailers.get(RISK_TIER),
        }
        if EDIT_ID in trailers:
            return cls(kind="edit", edit_id=trailers[EDIT_ID], **common)
        if REVERTS_EDIT_ID in trailers:
            return cls(
                kind="revert",
                edit_id=trailers[REVERTS_EDIT_ID],
                reverts_commit=trailers.get(REVERTS_COMMIT),
                rollback_id=trailers.get(ROLLBACK_ID),
                **common,
            )
        if trailers.get(CHECKPOINT) in ("baseline", "manual-changes"):
            return cls(kind=trailers[CHECKPOINT], **common)
        return None


def revert_message(entry: LogEntry, rollback_id: str) -> str:
    """The commit message that reverts the edit commit ``entry``."""
    subject = f'Revert "{entry.subject}"'
    body = (
        f"Rolls back edit {entry.edit_id} of session {entry.session_id} "
        f"(commit {entry.commit[:12]})."
    )
    trailers = {
        REVERTS_EDIT_ID: entry.edit_id or "",
        REVERTS_COMMIT: entry.commit,
        SESSION_ID: entry.session_id or "",
        OP: entry.op or "",
        RISK_TIER: entry.tier or "",
        ROLLBACK_ID: rollback_id,
    }
    return _message(subject, body, trailers)
