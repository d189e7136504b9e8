"""In-process commits (``specdistill.checkpoint.objects``) against git's own plumbing.

The same change committed both ways gives the same tree, and with the same dates
the same commit id; the repository passes ``git fsck --strict``; a checkpointed
apply starts at most two git processes per edit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checkpoint_helpers import describe_calculator, git, max_turns, plan, temperature
from specdistill.apply import apply_plan
from specdistill.checkpoint.git import Git, spawn_count
from specdistill.checkpoint.objects import FastCommits
from specdistill.checkpoint.store import CheckpointStore

MESSAGE = "subject\n\nbody line\n\nEdit-ID: e1\n"


def plumbing_commit(repo: Path, parent: str, paths: list[str], tmp: Path) -> str:
    """The reference: a private index, update-index, write-tree, commit-tree."""
    os.environ["GIT_INDEX_FILE"] = str(tmp / "ref-index")
    try:
        git(repo, "read-tree", parent)
        git(repo, "update-index", "--add", "--remove", "--", *paths)
        tree = git(repo, "write-tree").strip()
    finally:
        del os.environ["GIT_INDEX_FILE"]
    return Git(repo).out(  # with the identity specdistill commits with
        "commit-tree",
        tree,
        "-p",
        parent,
        "-F",
        "-",
        input=MESSAGE.encode(),
        env=Git(repo).identity_env(),
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_AUTHOR_DATE", "1700000000 +0100")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000100 -0230")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    home = root / "my home"
    (home / "agents" / "a").mkdir(parents=True)
    (home / "config.toml").write_text("x = 1\n")
    (home / "agents" / "a" / "system_prompt.md").write_text("hi\n")
    (home / "agents" / "a" / "few_shot.json").write_text("[]\n")
    (root / "README").write_text("top\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    return root


@pytest.mark.parametrize("filemode", ["true", "false"])
def test_same_commit_as_the_plumbing(repo: Path, tmp_path: Path, filemode: str) -> None:
    git(repo, "config", "core.filemode", filemode)
    home = repo / "my home"
    (home / "config.toml").write_text("x = 2\n")  # changed
    (home / "agents" / "a" / "few_shot.json").unlink()  # deleted
    (home / "agents" / "b").mkdir()
    (home / "agents" / "b" / "system_prompt.md").write_text("new\n")  # new, in a new folder
    (home / "agents" / "a" / "system_prompt.md").chmod(0o755)  # mode only
    paths = [
        "my home/config.toml",
        "my home/agents/a/few_shot.json",
        "my home/agents/b/system_prompt.md",
        "my home/agents/a/system_prompt.md",
        "my home/tools/descriptions.toml",  # absent before and after
    ]
    parent = git(repo, "rev-parse", "HEAD").strip()
    fast = FastCommits.open(Git(repo))
    assert fast is not None
    try:
        ours = fast.commit(paths, MESSAGE, parent)
    finally:
        fast.close()
    reference = plumbing_commit(repo, parent, paths, tmp_path)
    assert ours == reference
    git(repo, "update-ref", "HEAD", ours)
    assert git(repo, "fsck", "--strict", "--no-dangling") == ""


def test_everything_deleted_is_the_empty_tree(repo: Path, tmp_path: Path) -> None:
    home = repo / "my home"
    files = [p for p in home.rglob("*") if p.is_file()]
    for path in files:
        path.unlink()
    paths = [p.relative_to(repo).as_posix() for p in files]
    parent = git(repo, "rev-parse", "HEAD").strip()
    fast = FastCommits.open(Git(repo))
    assert fast is not None
    ours = fast.commit(paths, MESSAGE, parent)
    fast.close()
    assert ours == plumbing_commit(repo, parent, paths, tmp_path)


def test_a_symlink_falls_back_to_the_plumbing(repo: Path) -> None:
    home = repo / "my home"
    (home / "tools").mkdir()
    (home / "tools" / "descriptions.toml").symlink_to("../config.toml")
    store = CheckpointStore(home)
    sha = store.commit_files(["tools/descriptions.toml"], MESSAGE)
    store.close()
    mode = git(repo, "ls-tree", sha, "--", "my home/tools/descriptions.toml").split()[0]
    assert mode == "120000"  # what git add stores for a symlink


def test_apply_is_fsck_clean_and_starts_at_most_two_git_processes_per_edit(home: Path) -> None:
    def spawns(n: int) -> int:
        edits = []
        for i in range(n):
            if i % 3 == 0:
                edits.append(temperature((i % 9) / 10))
            elif i % 3 == 1:
                edits.append(max_turns(3 + i % 9))
            else:
                edits.append(describe_calculator(f"take {i}"))
        before = spawn_count()
        report = apply_plan(plan(*edits), home, mode="auto", checkpoint=True)
        assert all(o.status == "applied" for o in report.outcomes), report.outcomes
        return spawn_count() - before

    small, large = spawns(2), spawns(12)
    assert (large - small) / 10 <= 2
    assert git(home, "fsck", "--strict", "--no-dangling") == ""
    assert git(home, "status", "--porcelain") == ""
