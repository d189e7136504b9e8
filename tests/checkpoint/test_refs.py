"""HEAD's branch moved in-process (``specdistill.checkpoint.refs``), against git itself.

The same move done by ``LooseRefs`` and by ``git update-ref -m`` leaves byte-identical
ref and reflog files; a checkpointed apply is fsck-clean with one reflog entry per
edit; a commit made by git between two edits, or a lock file git holds, makes the
move fail the way update-ref's does; detached HEADs, packed refs and linked
worktrees are handled (or handed to git).
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from checkpoint_helpers import describe_calculator, git, head, max_turns, plan, temperature
from specdistill.apply import apply_plan
from specdistill.checkpoint.git import Git, spawn_count
from specdistill.checkpoint.objects import FastCommits
from specdistill.checkpoint.refs import LooseRefs, reflog_message
from specdistill.checkpoint.store import CheckpointStore
from specdistill.errors import CheckpointError

ODD_MESSAGE = "  specdistill:   set\tthe  temperature \n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_COMMITTER_DATE", "1700000100 -0230")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "config.toml").write_text("x = 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "one")
    (root / "config.toml").write_text("x = 2\n")
    git(root, "commit", "-q", "-am", "two")
    return root


def _store_edit(home: Path, store: CheckpointStore, value: str, parent: str | None) -> str:
    (home / "config.toml").write_text(f"x = {value}\n")
    return store.commit_files(["config.toml"], f"set x to {value}\n", parent=parent)


def _files(root: Path) -> dict[str, bytes]:
    names = ("refs/heads/main", "logs/HEAD", "logs/refs/heads/main")
    return {name: (root / ".git" / name).read_bytes() for name in names}


def test_same_files_as_git_update_ref(repo: Path, tmp_path: Path) -> None:
    other = Path(shutil.copytree(repo, tmp_path / "other", symlinks=True))
    old, new = head(repo), git(repo, "rev-parse", "HEAD~1").strip()
    fast = FastCommits.open(Git(repo))
    assert fast is not None and fast.refs is not None
    fast.refs.move_head(new, old, ODD_MESSAGE)
    fast.close()
    env_git = Git(other)  # git with the identity specdistill commits with
    env_git.run("update-ref", "-m", ODD_MESSAGE, "HEAD", new, old, env=env_git.identity_env())
    assert _files(repo) == _files(other)
    assert reflog_message(ODD_MESSAGE) == "specdistill: set the temperature"
    assert git(repo, "fsck", "--strict") == ""
    assert not list((repo / ".git").rglob("*.lock"))


def test_apply_moves_the_branch_in_process_with_one_reflog_entry_per_edit(home: Path) -> None:
    edits = [temperature(0.1, id="t1"), max_turns(9, id="m1"), describe_calculator("d", id="d1")]
    baseline = head(home)
    before = spawn_count()
    report = apply_plan(plan(*edits, session_id="s1"), home, mode="auto", checkpoint=True)
    spawned = spawn_count() - before
    assert [o.status for o in report.outcomes] == ["applied"] * 3
    assert git(home, "fsck", "--strict", "--no-dangling") == ""
    assert git(home, "status", "--porcelain") == ""
    subjects = git(home, "log", "--reverse", "--format=%s", f"{baseline}..HEAD").splitlines()
    for ref in ("HEAD", "main"):
        lines = git(home, "reflog", "show", "--format=%H %gs", ref).splitlines()
        ours = [line.split(" ", 1) for line in lines[:3]]
        assert [sha for sha, _ in reversed(ours)] == git(
            home, "rev-list", "--reverse", f"{baseline}..HEAD"
        ).split()
        assert [msg for _, msg in reversed(ours)] == [f"specdistill: {s}" for s in subjects]
    # no update-ref: the run's fixed processes plus one reset per edit
    small = spawn_count()
    apply_plan(plan(temperature(0.3)), home, mode="auto", checkpoint=True)
    assert spawned - (spawn_count() - small) <= 2  # two more edits, one process each


def test_a_commit_made_by_git_between_two_edits_is_refused(home: Path) -> None:
    store = CheckpointStore(home)
    try:
        first = _store_edit(home, store, "1", head(home))
        git(home, "commit", "-q", "--allow-empty", "-m", "the user's commit")
        users = head(home)
        reflog = git(home, "reflog", "show", "--format=%H")
        with pytest.raises(CheckpointError, match=r"is at [0-9a-f]{40} but expected " + first):
            _store_edit(home, store, "2", first)
    finally:
        store.close()
    assert head(home) == users
    assert git(home, "reflog", "show", "--format=%H") == reflog
    assert not list((home / ".git").rglob("*.lock"))


@pytest.mark.parametrize("lock", ["HEAD.lock", "refs/heads/main.lock"])
def test_a_lock_held_by_git_fails_the_move_as_update_ref_does(home: Path, lock: str) -> None:
    held = home / ".git" / lock
    held.write_text("")
    parent = head(home)
    refused = Git(home).run("update-ref", "HEAD", parent, parent, ok=(128,))  # git's verdict
    assert f"Unable to create '{held}': File exists" in refused.stderr.decode()
    store = CheckpointStore(home)
    try:
        started = time.monotonic()
        with pytest.raises(CheckpointError, match=r"Unable to create .*\.lock': File exists"):
            _store_edit(home, store, "1", parent)
        assert time.monotonic() - started >= 0.09  # retried for core.filesRefLockTimeout
    finally:
        store.close()
    assert head(home) == parent
    assert held.exists()  # git's lock is git's: never removed by the refusal


def test_a_lock_released_within_the_timeout_is_waited_for(home: Path) -> None:
    git(home, "config", "core.filesRefLockTimeout", "2000")
    held = home / ".git" / "refs" / "heads" / "main.lock"
    held.write_text("")
    threading.Timer(0.2, held.unlink).start()
    store = CheckpointStore(home)
    try:
        sha = _store_edit(home, store, "1", head(home))
    finally:
        store.close()
    assert head(home) == sha
    assert git(home, "fsck", "--strict", "--no-dangling") == ""


def test_packed_refs_are_read_and_shadowed_by_the_loose_ref(home: Path) -> None:
    baseline = head(home)
    git(home, "commit", "-q", "--allow-empty", "-m", "the user's commit")
    git(home, "pack-refs", "--all")
    assert not (home / ".git" / "refs" / "heads" / "main").exists()
    store = CheckpointStore(home)
    try:
        with pytest.raises(CheckpointError, match="but expected " + baseline):
            _store_edit(home, store, "1", baseline)  # the packed value is newer: refused
        sha = _store_edit(home, store, "2", head(home))
    finally:
        store.close()
    assert (home / ".git" / "refs" / "heads" / "main").read_text() == sha + "\n"
    assert head(home) == sha
    assert git(home, "fsck", "--strict", "--no-dangling") == ""


def test_a_detached_head_is_moved_by_git_update_ref(home: Path) -> None:
    git(home, "checkout", "-q", "--detach")
    store = CheckpointStore(home)
    try:
        before = spawn_count()
        sha = _store_edit(home, store, "1", head(home))
        # reset + update-ref, plus the readers started on first use
        assert spawn_count() - before >= 2
    finally:
        store.close()
    assert (home / ".git" / "HEAD").read_text() == sha + "\n"
    assert git(home, "rev-parse", "main").strip() != sha


def test_a_linked_worktree_moves_its_own_branch_and_logs(home: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    git(home, "worktree", "add", "-q", "-b", "side", str(tree))
    store = CheckpointStore(tree)
    try:
        sha = _store_edit(tree, store, "1", head(tree))
    finally:
        store.close()
    assert git(home, "rev-parse", "side").strip() == sha
    assert git(home, "rev-parse", "main").strip() != sha
    assert git(tree, "reflog", "show", "--format=%H", "-1", "HEAD").strip() == sha
    assert git(home, "fsck", "--strict", "--no-dangling") == ""


def test_reflogs_are_created_only_where_git_would(home: Path) -> None:
    git(home, "config", "core.logAllRefUpdates", "false")
    for log in (home / ".git" / "logs").rglob("*"):
        if log.is_file():
            log.unlink()
    store = CheckpointStore(home)
    try:
        _store_edit(home, store, "1", head(home))
    finally:
        store.close()
    assert not [p for p in (home / ".git" / "logs").rglob("*") if p.is_file()]


def test_other_ref_storage_is_left_to_git(tmp_path: Path) -> None:
    config = {"extensions.refstorage": "reftable"}
    assert LooseRefs.open(tmp_path, tmp_path, tmp_path, config, b"a <b>", None) is None
    assert LooseRefs.open(tmp_path, tmp_path, tmp_path, {}, b"a <b>", None) is not None
