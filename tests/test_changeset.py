"""Change sets: one edit's changes with their pre-images, kept once and restored exactly.

The module stands on the standard library (and fsio's atomic write) alone; a change
set writes and restores exact bytes, modes and folders; and in the execute loop a
gate reject or a failed write restores each file once, from the change set, with a
checkpoint journal or without.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import specdistill.changeset as changeset
import specdistill.fsio as fsio
from checkpoint_helpers import isolate_git, make_home, spec_bytes, status, temperature
from conftest import tree_bytes, valid_edit
from specdistill import ApplyContext, AutonomyMode, EditOp, checkpointed_run, execute_edits
from specdistill.changeset import ChangeSet, FileChange, FileSnapshot, TreeSnapshot
from specdistill.home import SpecHome


def _project_imports(module: Any) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "specdistill"}


def test_the_change_set_module_stands_on_fsio_alone() -> None:
    assert _project_imports(changeset) == {"specdistill.fsio"}
    assert _project_imports(fsio) == set()


def test_a_pre_image_has_no_dead_existed_flag() -> None:
    assert not hasattr(FileSnapshot, "existed")


def test_write_then_restore_is_exact(tmp_path: Path) -> None:
    kept = tmp_path / "kept.toml"
    kept.write_bytes(b"a = 1\n")
    os.chmod(kept, 0o640)
    gone = tmp_path / "gone.md"
    gone.write_bytes(b"bye\n")
    new = tmp_path / "new" / "deep" / "file.md"
    before = tree_bytes(tmp_path)
    changes = ChangeSet.capture(
        [
            FileChange(kept, b"a = 1\n", b"a = 2\n"),
            FileChange(gone, b"bye\n", None),
            FileChange(new, None, b"hello\n"),
        ]
    )
    assert changes.moved() == []
    changes.write()
    assert kept.read_bytes() == b"a = 2\n" and not gone.exists() and new.read_bytes() == b"hello\n"
    changes.restore()
    assert tree_bytes(tmp_path) == before
    assert kept.stat().st_mode & 0o777 == 0o640
    assert not (tmp_path / "new").exists()  # the folders the change made go too


def test_moved_names_the_changes_whose_file_differs(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"now\n")
    stale = FileChange(path, b"then\n", b"new\n")
    fresh = FileChange(tmp_path / "absent", None, b"x")
    assert ChangeSet.capture([stale, fresh]).moved() == [stale]


def test_without_no_ops_keeps_each_pre_image_with_its_change(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_bytes(b"1")
    two.write_bytes(b"2")
    full = ChangeSet.capture([FileChange(one, b"1", b"1"), FileChange(two, b"2", b"3")])
    kept = full.without_no_ops()
    assert [c.path for c in kept.changes] == [two]
    assert [s.path for s in kept.pre_images] == [two]


def test_a_change_set_needs_one_pre_image_per_change(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one pre-image per change"):
        ChangeSet((FileChange(tmp_path / "f", None, b"x"),), ())


def test_a_tree_snapshot_undoes_unknown_writes(tmp_path: Path) -> None:
    root = tmp_path / "spec"
    (root / "agents" / "a").mkdir(parents=True)
    (root / "agents" / "a" / "prompt.md").write_text("hi\n")
    (root / "config.toml").write_text("x = 1\n")
    before = tree_bytes(root)
    snapshot = TreeSnapshot.capture([root / "config.toml", root / "agents", root / "tools"])
    (root / "config.toml").write_text("x = 2\n")
    (root / "agents" / "a" / "prompt.md").unlink()
    (root / "agents" / "ghost" / "deep").mkdir(parents=True)
    (root / "agents" / "ghost" / "deep" / "new.md").write_text("boo\n")
    (root / "tools").mkdir()
    (root / "tools" / "t.toml").write_text("")
    snapshot.restore()
    assert tree_bytes(root) == before
    assert not (root / "agents" / "ghost").exists()
    assert not (root / "tools").exists()


# --- in the execute loop: restored once, from the change set ----------------------------


class CountingRestores:
    """Wraps ``changeset.restore_exact_bytes``: counts restores per file."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.real = changeset.restore_exact_bytes

    def __call__(self, snapshot: FileSnapshot) -> None:
        self.paths.append(snapshot.path)
        self.real(snapshot)


class Rejecting:
    """A gate that rejects every edit."""

    def evaluate(self, edit: Any, *, baseline: Any, candidate: Any, should_stop: Any = None) -> Any:
        return SimpleNamespace(
            accepted=False, reason="no gain", benchmark_delta=0.0, cluster_deltas={}, report=""
        )


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingRestores:
    counter = CountingRestores()
    monkeypatch.setattr(changeset, "restore_exact_bytes", counter)
    return counter


def test_a_gate_reject_restores_each_file_once(home: Path, counting: CountingRestores) -> None:
    before = tree_bytes(home)
    ctx = ApplyContext(home=home)
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.SET_MODEL_PARAM)],
        ctx=ctx,
        autonomy_mode=AutonomyMode.AUTO,
        gate=Rejecting(),  # type: ignore[arg-type]
    )
    assert (outcome.status, outcome.error) == ("rejected_by_gate", "no gain")
    assert counting.paths == [SpecHome(home).config_path]
    assert tree_bytes(home) == before
    assert ctx.applied_result(outcome.edit_id) is None  # a rejected edit leaves no pre-image


def test_a_checkpointed_gate_reject_restores_once_and_clears_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counting: CountingRestores
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = make_home(tmp_path / "home")
    before = spec_bytes(home)
    with checkpointed_run(home, command="apply", notify=None) as run:
        [outcome] = execute_edits(
            edits=[temperature(0.0, id="t")],
            ctx=ApplyContext(home=home),
            autonomy_mode=AutonomyMode.AUTO,
            checkpoint=run,
            gate=Rejecting(),  # type: ignore[arg-type]
        )
    assert outcome.status == "rejected_by_gate"
    assert counting.paths == [SpecHome(home).config_path]  # not again from the journal
    assert spec_bytes(home) == before and status(home) == ""
    assert not (home / "learning" / "journal" / "intent.json").exists()
    assert run.commits == {}


def test_an_accepted_edit_hands_its_change_set_to_the_context(home: Path) -> None:
    before = tree_bytes(home)
    ctx = ApplyContext(home=home)
    edit = valid_edit(EditOp.SET_MODEL_PARAM)
    execute_edits(edits=[edit], ctx=ctx, autonomy_mode=AutonomyMode.AUTO)
    result = ctx.applied_result(edit.id)
    assert result is not None and [c.path for c in result.changes] == [SpecHome(home).config_path]
    result.change_set.restore()
    assert tree_bytes(home) == before
