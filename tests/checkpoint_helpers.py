"""Helpers for the checkpoint tests: real git repositories and real child processes.

Every test runs git with an isolated configuration (``GIT_CONFIG_GLOBAL`` pointing
at a file in the test's tmp dir, no system config): by default *no* identity, as
on a fresh CI machine, so the tests also prove that commits work without one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from specdistill import Edit, EditOp, EditRiskTier, LearningPlan, init_home
from specdistill.checkpoint import init_checkpoints
from specdistill.tiers import DEFAULT_TIERS, PILLARS

REPO_ROOT = Path(__file__).resolve().parents[1]
SPECDISTILL = str(Path(sys.executable).with_name("specdistill"))
SPEC_FILES = ("config.toml", "agents", "tools")

GIT_IDENTITY_VARS = (
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
)


def isolate_git(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, identity: tuple[str, str] | None = None
) -> Path:
    """Point git at a private global config (with ``identity`` or none at all)."""
    config = tmp_path / "gitconfig"
    lines = ["[init]\n\tdefaultBranch = main\n", "[commit]\n\tgpgsign = false\n"]
    if identity is not None:
        lines.append(f"[user]\n\tname = {identity[0]}\n\temail = {identity[1]}\n")
    config.write_text("".join(lines))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in GIT_IDENTITY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("SPECDISTILL_FAULT_POINT", raising=False)
    return config


def git(cwd: Path, *args: str, check: bool = True, input: bytes | None = None) -> str:
    """Run git as a user would (with an identity given on the command line)."""
    proc = subprocess.run(
        ["git", "-c", "user.name=Test User", "-c", "user.email=user@example.com", *args],
        cwd=cwd,
        capture_output=True,
        input=input,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode()


def make_home(root: Path, *, checkpoints: bool = True) -> Path:
    """A fresh spec home; with ``checkpoints``, also its repository and baseline commit."""
    init_home(root)
    if checkpoints:
        init_checkpoints(root)
    return root


def spec_bytes(home: Path) -> dict[str, bytes]:
    """``{home-relative path: bytes}`` of every file of the spec (not learning/)."""
    result = {}
    for name in SPEC_FILES:
        top = home / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            result[path.relative_to(home).as_posix()] = path.read_bytes()
    return result


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD").strip())


def status(repo: Path, *pathspecs: str) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all", "--", *pathspecs)


def trailers(repo: Path, rev: str = "HEAD") -> dict[str, str]:
    text = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


_ids = iter(range(1, 10**9))


def edit(
    op: EditOp | str, payload: dict[str, Any], *, id: str | None = None, rationale: str = ""
) -> Edit:
    op = EditOp(op)
    return Edit(
        id=id or f"e{next(_ids)}",
        pillar=PILLARS[op],
        op=op,
        payload=payload,
        rationale=rationale or f"because {op.value}",
        risk_tier=DEFAULT_TIERS.get(op, EditRiskTier.AUTO),
    )


def temperature(value: float, *, id: str | None = None, model: str = "small-model") -> Edit:
    return edit(
        EditOp.SET_MODEL_PARAM,
        {"model": model, "param": "temperature", "value": value},
        id=id,
        rationale="Deterministic answers ramble less.",
    )


def max_turns(value: int, *, id: str | None = None) -> Edit:
    payload = {"agent": "assistant", "param": "max_turns", "value": value}
    return edit(EditOp.SET_AGENT_PARAM, payload, id=id)


def describe_calculator(text: str, *, id: str | None = None) -> Edit:
    payload = {"tool_name": "calculator", "new_description": text}
    return edit(EditOp.EDIT_TOOL_DESCRIPTION, payload, id=id)


def replace_prompt(text: str, *, id: str | None = None) -> Edit:
    payload = {"agent": "assistant", "new_content": text}
    return edit(EditOp.REPLACE_SYSTEM_PROMPT, payload, id=id)


def few_shot(pairs: list[tuple[str, str]], *, id: str | None = None) -> Edit:
    payload = {"agent": "assistant", "exemplars": [{"input": i, "output": o} for i, o in pairs]}
    return edit(EditOp.EDIT_FEW_SHOT_EXEMPLARS, payload, id=id)


def plan(*edits: Edit, session_id: str = "") -> LearningPlan:
    return LearningPlan(session_id=session_id, edits=list(edits))


def write_plan(path: Path, the_plan: LearningPlan) -> Path:
    path.write_text(the_plan.model_dump_json(indent=2))
    return path


# -- child processes ------------------------------------------------------------------

#: Prepended to child scripts: a test applier that writes TWO files (config.toml and
#: the agent's system prompt) through FileEditApplier, registered for set_agent_class.
TWO_FILE_APPLIER = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from specdistill import EditOp, FileChange, FileEditApplier
    from specdistill.appliers.agent import SetAgentClassApplier
    from specdistill.appliers.registry import default_registry
    from specdistill.fsio import read_bytes_or_none

    class TwoFileApplier(FileEditApplier):
        '''set_agent_class, plus a line in the agent's prompt: an edit of two files.'''

        op = EditOp.SET_AGENT_CLASS

        def plan_changes(self, edit, payload, ctx):
            changes = SetAgentClassApplier().plan_changes(edit, payload, ctx)
            prompt = ctx.spec_home.system_prompt_path("assistant")
            before = read_bytes_or_none(prompt)
            line = f"You are a {payload.new_class} agent.\\n".encode()
            after = before or b""
            after += b"" if line in after else line   # idempotent, like the built-in ops
            return [*changes, FileChange(prompt, before, after)]

    def registry():
        reg = default_registry(plugins=False)
        reg.register(TwoFileApplier(), replace=True)
        return reg
    """
)


#: Prepended to child scripts: a plug-in applier that does its own I/O (not a
#: FileEditApplier): it appends to config.toml and creates a new file.
DIRECT_APPLIER = textwrap.dedent(
    """
    from specdistill import ApplyResult, EditApplier, EditOp, ValidationResult
    from specdistill.appliers.registry import default_registry

    class DirectApplier(EditApplier):
        op = EditOp.SET_AGENT_CLASS

        def validate(self, edit, ctx):
            return ValidationResult.success()

        def apply(self, edit, ctx):
            config = ctx.spec_home.config_path
            config.write_text(config.read_text() + "# by the plug-in\\n")
            notes = ctx.spec_home.root / "agents" / "assistant" / "notes.md"
            notes.write_text("written by the plug-in\\n")
            return ApplyResult(edit.id, edit.op, (), ())

        def rollback(self, edit, ctx):
            raise NotImplementedError

    def registry():
        reg = default_registry(plugins=False)
        reg.register(DirectApplier(), replace=True)
        return reg
    """
)


def two_file_edit(new_class: str, *, id: str | None = None) -> Edit:
    """An edit the TwoFileApplier applies (it is auto-tier only in mode=auto)."""
    return edit(EditOp.SET_AGENT_CLASS, {"agent": "assistant", "new_class": new_class}, id=id)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SPECDISTILL_FAULT_POINT"}
    env.update(extra or {})
    return env


def run_python(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new Python process (the test's interpreter and environment)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env or child_env(),
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )


def apply_in_child_code(
    home: Path, plan_file: Path, *, mode: str = "auto", applier: str = TWO_FILE_APPLIER
) -> str:
    """Child code: apply ``plan_file`` with checkpoints and the two-file applier."""
    return applier + textwrap.dedent(
        f"""
        from specdistill import load_plan
        from specdistill.apply import apply_plan
        report = apply_plan(load_plan({str(plan_file)!r}), {str(home)!r}, mode={mode!r},
                            registry=registry(), checkpoint=True)
        print(json.dumps({{o.edit_id: [o.status, o.error] for o in report.outcomes}}))
        sys.exit(128 + report.interrupted_by if report.interrupted_by else 0)
        """
    )


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``specdistill`` command in a new process."""
    return subprocess.run(
        [SPECDISTILL, *args],
        capture_output=True,
        text=True,
        env=env or child_env(),
        timeout=60,
        check=False,
    )


def parse_json_line(text: str) -> Any:
    return json.loads(text.strip().splitlines()[-1])
