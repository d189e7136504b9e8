"""ApplyContext: what appliers share during one run over one spec home."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from specdistill.errors import ConfigError
from specdistill.home import SpecHome, default_home
from specdistill.models import Edit, EditOp, EditRiskTier
from specdistill.tiers import parse_tier_overrides

if TYPE_CHECKING:
    from specdistill.appliers.base import ApplyResult, EditJournal, FileChange


class ApplyContext:
    """Shared context for appliers: the spec home and the session.

    ``openjarvis_home=`` is accepted as an alias of ``home=`` so OpenJarvis
    callers port unchanged. Applied edits' pre-images are kept here so that
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
        #: Set by a checkpointed run while one edit is applied: appliers record the
        #: edit's intent (pre-images) in it before writing. None: no journal.
        self.journal: EditJournal | None = None

    @property
    def home(self) -> Path:
        return self.spec_home.root

    @property
    def openjarvis_home(self) -> Path:
        return self.spec_home.root

    def __repr__(self) -> str:
        return f"ApplyContext(home={str(self.home)!r}, session_id={self.session_id!r})"

    # -- validated plans, kept for apply ------------------------------------------
    def remember_plan(self, edit: Edit, changes: list[FileChange]) -> None:
        self._plans[edit.id] = (edit, changes)

    def take_plan(self, edit: Edit) -> list[FileChange] | None:
        """The changes validated for exactly this edit (same id *and* content), once."""
        kept = self._plans.pop(edit.id, None)
        return kept[1] if kept is not None and kept[0] == edit else None

    # -- pre-images of applied edits -------------------------------------------
    def record_applied(self, result: ApplyResult) -> None:
        self._applied[result.edit_id] = result

    def applied_result(self, edit_id: str) -> ApplyResult | None:
        return self._applied.get(edit_id)

    def forget_applied(self, edit_id: str) -> ApplyResult | None:
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
