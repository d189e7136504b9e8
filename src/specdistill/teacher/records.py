"""What the teacher proposed and we refused: one record per dropped cluster, edit or trace.

Nothing the teacher says is half-trusted: an item that fails a check is dropped whole,
and the reason is kept so the session (and a reviewer) can see what was refused and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

DroppedKind = Literal["cluster", "edit", "trace"]


@dataclass(frozen=True)
class Dropped:
    """An item left out, and why. ``id`` is the item's own id, else ``#<index>``."""

    kind: DroppedKind
    id: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.kind} {self.id}: {self.reason}"
