"""ApplyContext: what appliers share during one run over one spec home.

Next to :mod:`specdistill.changeset`: an applied edit's change set (its
pre-images) is handed to the context when the edit is committed, as an
:class:`ApplyResult`, so that ``applier.rollback(edit, ctx)`` can restore it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from specdistill.changeset import ChangeSet, FileChange, FileSnapshot
from specdistill.errors import ConfigError
from specdistill.home import AGENTS_DIR, TOOLS_DIR, SpecHome, default_home
from specdistill.models import Edit, EditOp, EditRiskTier
from specdistill.tiers import parse_tier_overrides


@dataclass(frozen=True)
class ApplyResult:
    """What an applied edit changed, with the pre-images needed to undo it exactly.

    Every field has a default so that an applier written for OpenJarvis, which
    returns ``ApplyResult(changed_files=[...])``, runs unchanged: ``changed_files``
    (paths as strings) is OpenJarvis's field; for a result of ours it lists the
    changed paths. Undoing a foreign applier's edit does not rely on it: the execute
    loop snapshots the spec around such an applier.
    """

    edit_id: str = ""
    op: EditOp | None = None
    changes: tuple[FileChange, ...] = ()
    pre_images: tuple[FileSnapshot, ...] = ()
    changed_files: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.changed_files and self.changes:
            object.__setattr__(self, "changed_files", [str(c.path) for c in self.changes])

    @classmethod
    def of(cls, edit: Edit, change_set: ChangeSet) -> ApplyResult:
        """The result of ``edit`` having written ``change_set``."""
        return cls(edit.id, edit.op, change_set.changes, change_set.pre_images)

    @property
    def change_set(self) -> ChangeSet:
        """The changes with their pre-images (what :meth:`ChangeSet.restore` undoes)."""
        return ChangeSet(self.changes, self.pre_images)

    def unified_diff(self, home: Path) -> str:
        """Every change as a unified diff, with paths relative to ``home``."""
        return "".join(c.unified_diff(c.path.relative_to(home).as_posix()) for c in self.changes)


class ApplyContext:
    """Shared context for appliers: the spec home and the session.

    ``openjarvis_home=`` is accepted as an alias of ``home=`` so OpenJarvis
    callers port unchanged. Applied edits' change sets are kept here so that
    ``applier.rollback(edit, ctx)`` restores the exact previous bytes.

    >>> ctx = ApplyContext(home="/tmp/spec", session_id="s1")
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        session_id: str = "",
        *,
        openjarvis_home: str | os.PathLike[str] | None = None,
    ) -> None:
        both = home is not None and openjarvis_home is not None
        if both and Path(home).absolute() != Path(openjarvis_home).absolute():  # type: ignore[arg-type]
            raise TypeError("pass either home= or openjarvis_home=, not two different paths")
        root = home if home is not None else openjarvis_home
        self.spec_home = SpecHome(root if root is not None else default_home())
        self.session_id = session_id
        self._applied: dict[str, ApplyResult] = {}
        self._plans: dict[str, tuple[Edit, list[FileChange]]] = {}

    @property
    def home(self) -> Path:
        """The spec home's root folder."""
        return self.spec_home.root

    @property
    def openjarvis_home(self) -> Path:
        """Alias of :attr:`home`, for OpenJarvis callers."""
        return self.spec_home.root

    # OpenJarvis's ApplyContext offers these three; appliers written for it use them.
    # They go through the home's path gate like every other path.
    @property
    def config_path(self) -> Path:
        """``<home>/config.toml``."""
        return self.spec_home.config_path

    @property
    def agents_dir(self) -> Path:
        """``<home>/agents``."""
        return self.spec_home.resolve(AGENTS_DIR)

    @property
    def tools_dir(self) -> Path:
        """``<home>/tools``."""
        return self.spec_home.resolve(TOOLS_DIR)

    def __repr__(self) -> str:
        return f"ApplyContext(home={str(self.home)!r}, session_id={self.session_id!r})"

    # -- validated plans, kept for apply ------------------------------------------
    def remember_plan(self, edit: Edit, changes: list[FileChange]) -> None:
        """Keep the changes validated for ``edit``, for its apply."""
        self._plans[edit.id] = (edit, changes)

    def take_plan(self, edit: Edit) -> list[FileChange] | None:
        """The changes validated for exactly this edit (same id *and* content), once."""
        kept = self._plans.pop(edit.id, None)
        return kept[1] if kept is not None and kept[0] == edit else None

    # -- change sets of applied edits ------------------------------------------
    def record_applied(self, result: ApplyResult) -> None:
        """Keep an applied edit's result (its pre-images) for rollback."""
        self._applied[result.edit_id] = result

    def applied_result(self, edit_id: str) -> ApplyResult | None:
        """The result of the edit applied in this context under ``edit_id``, if any."""
        return self._applied.get(edit_id)

    def forget_applied(self, edit_id: str) -> ApplyResult | None:
        """Remove and return an applied edit's result (it is being rolled back)."""
        return self._applied.pop(edit_id, None)

    # -- configuration ------------------------------------------------------------
    def tier_overrides(self) -> dict[EditOp, EditRiskTier]:
        """``[specdistill.tier_overrides]`` from config.toml (empty if absent)."""
        path = self.spec_home.config_path
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}", hint="fix the file, then run again"
            ) from None
        ours = data.get("specdistill", {})
        if not isinstance(ours, dict):
            raise ConfigError("[specdistill] in config.toml must be a table")
        section = ours.get("tier_overrides", {})
        if not isinstance(section, dict):
            raise ConfigError("[specdistill.tier_overrides] must be a table")
        return parse_tier_overrides(section)
