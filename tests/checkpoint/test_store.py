"""Checkpoints in real git repositories: baseline, one commit per edit, dirty trees,
users' own repositories, identities, the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import (
    commit_count,
    describe_calculator,
    edit,
    git,
    head,
    isolate_git,
    make_home,
    max_turns,
    plan,
    spec_bytes,
    status,
    temperature,
    trailers,
)
from specdistill import EditOp, FileChange, init_home
from specdistill.apply import apply_plan
from specdistill.checkpoint import CheckpointStore, init_checkpoints, rollback_session
from specdistill.checkpoint.commits import describe_edit
from specdistill.cli import app
from specdistill.errors import CheckpointError, DirtyTree, InvalidEdit
from specdistill.example.scaffold import AGENT_FILE, BENCHMARK_FILE, PLAN_FILE


def test_init_makes_a_baseline_commit_and_keeps_learning_out(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    result = CliRunner().invoke(app, ["init", "--home", str(root)])
    assert result.exit_code == 0, result.output
    assert "baseline commit" in result.output
    assert commit_count(root) == 1
    assert trailers(root)["Specdistill-Checkpoint"] == "baseline"
    tracked = git(root, "ls-files").split()
    assert tracked == [
        "agents/assistant/few_shot.json",
        "agents/assistant/system_prompt.md",
        "config.toml",
        "tools/descriptions.toml",
    ]
    assert "/learning/" in (root / ".git" / "info" / "exclude").read_text()
    assert not (root / ".gitignore").exists()
    # The spec is committed; the scaffold's own files (agent, benchmark, plan) are the
    # user's to commit or not, and nothing else is left over.
    scaffold = {AGENT_FILE, BENCHMARK_FILE, PLAN_FILE}
    assert status(root).splitlines() == [f"?? {name}" for name in sorted(scaffold)]
    # init again: nothing new, no second baseline
    again = CliRunner().invoke(app, ["init", "--home", str(root)])
    assert again.exit_code == 0 and commit_count(root) == 1


def test_each_applied_edit_is_one_commit_with_its_trailers(home: Path) -> None:
    before = head(home)
    edits = [
        temperature(0.0, id="e-temp"),
        max_turns(6, id="e-turns"),
        describe_calculator('Exact "arithmetic".', id="e-desc"),
    ]
    report = apply_plan(plan(*edits, session_id="s-one"), home, checkpoint=True)
    assert [o.status for o in report.outcomes] == ["applied", "applied", "applied"]
    assert list(report.commits) == ["e-temp", "e-turns", "e-desc"]
    shas = git(home, "rev-list", f"{before}..HEAD").split()
    assert shas == [report.commits[i] for i in ("e-desc", "e-turns", "e-temp")]

    assert git(home, "log", "-1", "--format=%s", report.commits["e-temp"]).strip() == (
        'set_model_param: models."small-model".temperature = 0.0'
    )
    assert "Deterministic answers ramble less." in git(
        home, "log", "-1", "--format=%b", report.commits["e-temp"]
    )
    assert trailers(home, report.commits["e-temp"]) == {
        "Edit-ID": "e-temp",
        "Session-ID": "s-one",
        "Risk-Tier": "auto",
        "Op": "set_model_param",
    }
    files = {
        edit_id: git(home, "show", "--format=", "--name-only", sha).split()
        for edit_id, sha in report.commits.items()
    }
    assert files == {
        "e-temp": ["config.toml"],
        "e-turns": ["config.toml"],
        "e-desc": ["tools/descriptions.toml"],
    }
    assert status(home) == ""
    assert not (home / "learning" / "journal" / "intent.json").exists()
    assert not (home / "learning" / "lock").exists()


def test_a_rejected_edit_leaves_no_commit_and_identical_bytes(home: Path) -> None:
    before_head, before_bytes = head(home), spec_bytes(home)
    bad = [
        temperature(9.0),
        edit(EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "assistant", "tool_name": "web_search"}),
        edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "assistant", "tool_name": "no_such_tool"}),
    ]
    for one in bad:  # each is refused by the plan screen before anything is written
        with pytest.raises(InvalidEdit, match=one.id):
            apply_plan(plan(one), home, checkpoint=True)
    assert head(home) == before_head
    assert spec_bytes(home) == before_bytes
    assert status(home) == ""


def test_an_edit_that_changes_nothing_is_an_empty_commit(home: Path) -> None:
    already = edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "assistant", "tool_name": "calculator"})
    before_bytes = spec_bytes(home)
    report = apply_plan(plan(already, session_id="s-idem"), home, checkpoint=True)
    sha = report.commits[already.id]
    assert git(home, "show", "--format=", "--name-only", sha).strip() == ""
    assert trailers(home, sha)["Edit-ID"] == already.id
    assert spec_bytes(home) == before_bytes


def test_a_dirty_spec_is_refused_naming_the_files(home: Path) -> None:
    (home / "config.toml").write_text((home / "config.toml").read_text() + "# mine\n")
    new_agent = home / "agents" / "helper" / "system_prompt.md"
    new_agent.parent.mkdir()
    new_agent.write_text("Help.\n")
    (home / "tools" / "descriptions.toml").write_text("[calculator]\ndescription = 'x'\n")
    git(home, "add", "tools/descriptions.toml")  # staged counts too
    before_head, before_bytes = head(home), spec_bytes(home)

    with pytest.raises(DirtyTree) as caught:
        apply_plan(plan(temperature(0.1)), home, checkpoint=True)
    assert caught.value.paths == [
        "agents/helper/system_prompt.md",
        "config.toml",
        "tools/descriptions.toml",
    ]
    assert "--allow-dirty" in (caught.value.hint or "")
    assert head(home) == before_head and spec_bytes(home) == before_bytes

    result = CliRunner().invoke(app, ["apply", str(_plan_file(home)), "--home", str(home)])
    assert result.exit_code == 1
    assert "uncommitted changes in tracked spec files" in result.output
    assert "config.toml" in result.output and "--allow-dirty" in result.output


def _plan_file(home: Path) -> Path:
    path = home.parent / "plan.json"
    path.write_text(plan(temperature(0.1)).model_dump_json())
    return path


def test_allow_dirty_commits_the_hand_edits_first(home: Path) -> None:
    edited = (home / "config.toml").read_text().replace("max_turns = 4", "max_turns = 5")
    (home / "config.toml").write_text(edited)
    report = apply_plan(
        plan(temperature(0.1, id="e1"), session_id="s-dirty"),
        home,
        checkpoint=True,
        allow_dirty=True,
    )
    assert report.outcomes[0].status == "applied"
    assert any("uncommitted changes" in note for note in report.notes)
    manual = git(home, "rev-parse", "HEAD~1").strip()
    assert trailers(home, manual) == {
        "Specdistill-Checkpoint": "manual-changes",
        "Session-ID": "s-dirty",
    }
    assert git(home, "show", "--format=", "--name-only", manual).split() == ["config.toml"]
    assert "max_turns = 5" in git(home, "show", f"{manual}:config.toml")
    assert trailers(home)["Edit-ID"] == "e1"
    assert status(home) == ""


def test_a_users_repository_is_only_appended_to(tmp_path: Path) -> None:
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("my project\n")
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", "README.md", ".gitignore")
    git(repo, "commit", "-qm", "first")
    (repo / "src.py").write_text("print(1)\n")
    git(repo, "add", "src.py")
    git(repo, "commit", "-qm", "second")
    user_head = head(repo)
    # unrelated work in progress: unstaged, staged, untracked
    (repo / "README.md").write_text("my project, edited\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "scratch.txt").write_text("untracked\n")
    user_status = status(repo, ":(exclude)configs")
    home = repo / "configs" / "agent home"
    make_home(home)

    report = apply_plan(
        plan(temperature(0.0, id="e1"), max_turns(7, id="e2"), session_id="s-user"),
        home,
        checkpoint=True,
    )
    assert list(report.commits) == ["e1", "e2"]
    new = git(repo, "rev-list", f"{user_head}..HEAD").split()
    assert len(new) == 3  # baseline + two edits, on top of the user's history
    assert git(repo, "merge-base", "--is-ancestor", user_head, "HEAD", check=False) == ""
    touched = set(git(repo, "log", "--format=", "--name-only", f"{user_head}..HEAD").split("\n"))
    assert {t for t in touched if t} == {
        "configs/agent home/config.toml",
        "configs/agent home/agents/assistant/few_shot.json",
        "configs/agent home/agents/assistant/system_prompt.md",
        "configs/agent home/tools/descriptions.toml",
    }
    # the user's work in progress is exactly as it was: still unstaged / staged / untracked
    assert status(repo, ":(exclude)configs") == user_status
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert (repo / "README.md").read_text() == "my project, edited\n"
    assert (repo / ".gitignore").read_text() == "*.log\n"
    assert "/configs/agent\\ home/learning/" in (repo / ".git" / "info" / "exclude").read_text()
    assert status(repo, "configs") == ""

    # rolling the session back appends too, and leaves the user's work alone again
    rollback_session(home, "s-user", notify=None)
    assert git(repo, "rev-list", "--count", f"{user_head}..HEAD").strip() == "5"
    assert status(repo, ":(exclude)configs") == user_status
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert status(repo, "configs") == ""


def test_a_home_the_users_repository_ignores_gets_its_own_repository(tmp_path: Path) -> None:
    repo = tmp_path / "dotfiles"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("agent/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore the agent")
    before = head(repo)
    home = make_home(repo / "agent")
    assert (home / ".git").is_dir()
    assert head(repo) == before
    assert commit_count(home) == 1


def test_commits_use_a_fallback_identity_only_when_git_has_none(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_plan(plan(temperature(0.3)), home, checkpoint=True)
    ident = git(home, "log", "-1", "--format=%an <%ae>|%cn <%ce>").strip()
    assert ident == "specdistill <specdistill@localhost>|specdistill <specdistill@localhost>"
    assert git(home, "config", "--local", "user.name", check=False) == ""  # nothing written

    isolate_git(monkeypatch, tmp_path, identity=("Ada", "ada@example.com"))
    apply_plan(plan(temperature(0.4)), home, checkpoint=True)
    assert git(home, "log", "-1", "--format=%an <%ae>").strip() == "Ada <ada@example.com>"


def test_untrusted_ids_and_rationales_cannot_forge_trailers(home: Path) -> None:
    sneaky = temperature(0.5, id="e1\nSession-ID: forged")
    sneaky.rationale = "Looks fine.\n\nEdit-ID: forged\nSession-ID: forged\n\n# not a comment"
    report = apply_plan(plan(sneaky, session_id="s-real"), home, checkpoint=True)
    entry = CheckpointStore(home).log(limit=1)[0]
    assert entry.edit_id == "e1\nSession-ID: forged"
    assert entry.session_id == "s-real"
    body = git(home, "log", "-1", "--format=%B", report.commits[sneaky.id])
    assert "# not a comment" in body


def test_describe_edit_says_what_changed() -> None:
    cases = {
        EditOp.SET_MODEL_FOR_QUERY_CLASS: {"query_class": "math", "model": "m"},
        EditOp.ADD_TOOL_TO_AGENT: {"agent": "a", "tool_name": "calc"},
        EditOp.REPLACE_SYSTEM_PROMPT: {"agent": "a", "new_content": "x"},
    }
    subjects = [describe_edit(edit(op, payload)) for op, payload in cases.items()]
    assert subjects == [
        'set_model_for_query_class: learning.routing.policy_map.math = "m"',
        'add_tool_to_agent: agent.a.tools += "calc"',
        "replace_system_prompt: replace agents/a/system_prompt.md",
    ]
    long = describe_edit(describe_calculator("x" * 500))
    assert len(long) <= 120


def test_log_lists_spec_changes(home: Path) -> None:
    apply_plan(plan(temperature(0.0, id="e1"), session_id="s-log"), home, checkpoint=True)
    result = CliRunner().invoke(app, ["log", "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [(e["kind"], e["edit_id"], e["session_id"]) for e in entries] == [
        ("edit", "e1", "s-log"),
        ("baseline", None, None),
    ]
    assert entries[0]["op"] == "set_model_param" and entries[0]["tier"] == "auto"
    assert entries[0]["short"] == entries[0]["commit"][:10]
    table = CliRunner().invoke(app, ["log", "--home", str(home)])
    assert table.exit_code == 0 and "e1" in table.output and "s-log" in table.output


def test_apply_without_a_repository_creates_one(tmp_path: Path) -> None:
    home = make_home(tmp_path / "plain", checkpoints=False)
    assert not (home / ".git").exists()
    report = apply_plan(plan(temperature(0.0)), home, checkpoint=True)
    assert any("baseline" in note for note in report.notes)
    assert commit_count(home) == 2


def test_a_failed_commit_undoes_the_edit(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before_head, before_bytes = head(home), spec_bytes(home)

    def refuse(self, new, old, message, **kwargs):
        raise CheckpointError("HEAD moved")

    monkeypatch.setattr(CheckpointStore, "move_head", refuse)
    with pytest.raises(CheckpointError, match="could not be committed, so it was undone"):
        apply_plan(plan(temperature(0.0), max_turns(9)), home, checkpoint=True)
    assert head(home) == before_head and spec_bytes(home) == before_bytes
    assert not (home / "learning" / "journal" / "intent.json").exists()
    assert not (home / "learning" / "lock").exists()


def test_without_checkpoints_nothing_touches_git(tmp_path: Path) -> None:
    home = tmp_path / "nogit"
    init_home(home)
    report = apply_plan(plan(temperature(0.0)), home)
    assert report.outcomes[0].status == "applied" and report.commits == {}
    assert not (home / ".git").exists()


def test_a_merge_in_progress_is_refused(home: Path) -> None:
    (home / ".git" / "MERGE_HEAD").write_text(head(home) + "\n")
    with pytest.raises(CheckpointError, match="middle of a merge"):
        init_checkpoints(home)


def test_an_edit_whose_write_fails_is_undone_without_a_commit(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import specdistill.changeset as changeset

    real_write, calls = changeset.write_change, []

    def write_change(change: FileChange) -> None:  # the disk fills up on the 2nd write
        if home.resolve() not in change.path.resolve().parents:
            return real_write(change)  # the plan screen's scratch copy, not the home
        calls.append(change.path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(change)

    monkeypatch.setattr(changeset, "write_change", write_change)
    before_head, before_bytes = head(home), spec_bytes(home)
    two = edit(EditOp.EDIT_TOOL_DESCRIPTION, {"tool_name": "calculator", "new_description": "x"})
    report = apply_plan(
        plan(temperature(0.0, id="first"), two, max_turns(6, id="third")),
        home,
        checkpoint=True,
    )
    assert [o.status for o in report.outcomes] == ["applied", "rejected_by_gate", "applied"]
    assert "writing failed, files restored" in (report.outcomes[1].error or "")
    assert list(report.commits) == ["first", "third"]
    assert git(home, "rev-parse", "HEAD~2").strip() == before_head
    assert spec_bytes(home)["tools/descriptions.toml"] == before_bytes["tools/descriptions.toml"]
    assert status(home) == ""
    assert not (home / "learning" / "journal" / "intent.json").exists()


def test_a_plug_in_applier_doing_its_own_io_is_committed_whole(home: Path) -> None:
    from checkpoint_helpers import DIRECT_APPLIER, two_file_edit

    namespace: dict = {}
    exec(DIRECT_APPLIER, namespace)
    report = apply_plan(
        plan(two_file_edit("x", id="plug")),
        home,
        mode="auto",
        registry=namespace["registry"](),
        checkpoint=True,
    )
    assert list(report.commits) == ["plug"]
    files = git(home, "show", "--format=", "--name-only", report.commits["plug"]).split()
    assert files == ["agents/assistant/notes.md", "config.toml"]
    assert status(home) == ""
