"""What the review page shows, shaped from the command API's results: plain data, no I/O.

The templates render these with autoescaping; nothing here produces markup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from specdistill.commands import HistoryEntry
from specdistill.diffpatch import DiffLineKind, diff_line_kind

#: Statuses a session list can be filtered by (SessionStatus values), in lifecycle order.
SESSION_STATUSES = (
    "initiated",
    "diagnosing",
    "planning",
    "executing",
    "awaiting_review",
    "completed",
    "failed",
    "rolled_back",
)
#: Bounds on what one diff shows (a teacher's rewrite can be huge).
MAX_DIFF_LINES = 2000
MAX_LINE_CHARS = 2000


@dataclass(frozen=True)
class DiffLine:
    kind: DiffLineKind
    text: str


def diff_lines(diff: str) -> list[DiffLine]:
    """A unified diff as classified lines (``file`` headers, ``hunk`` headers, ``add``,
    ``del`` and ``ctx``), at most :data:`MAX_DIFF_LINES`, each line cut at
    :data:`MAX_LINE_CHARS`; a cut is said in a last ``hunk`` line."""
    lines = diff.splitlines()
    shown: list[DiffLine] = []
    for line in lines[:MAX_DIFF_LINES]:
        text = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …"
        shown.append(DiffLine(diff_line_kind(line), text))
    if len(lines) > MAX_DIFF_LINES:
        shown.append(DiffLine("hunk", f"… {len(lines) - MAX_DIFF_LINES} more line(s) not shown"))
    return shown


def parse_status_filter(raw: str | None) -> str | None:
    """The status a session list is filtered by: a known status, else None (all)."""
    return raw if raw in SESSION_STATUSES else None


def filter_entries(entries: list[HistoryEntry], status: str | None) -> list[HistoryEntry]:
    """The history entries with ``status`` (all of them for None)."""
    return [e for e in entries if status is None or e.status == status]


def status_counts(entries: list[HistoryEntry]) -> list[tuple[str, int]]:
    """How many sessions have each status, in lifecycle order, present ones only."""
    counts = Counter(e.status for e in entries)
    known = [(s, counts[s]) for s in SESSION_STATUSES if counts[s]]
    return known + sorted((s, n) for s, n in counts.items() if s not in SESSION_STATUSES)


def outcome_counts(entry: HistoryEntry) -> str:
    """A session's edits by outcome, e.g. ``2 applied, 1 pending_review`` (``none``)."""
    if entry.session is None:
        return "unreadable"
    counts = Counter(o.status for o in entry.session.edit_outcomes)
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "none"


__all__ = [
    "SESSION_STATUSES",
    "DiffLine",
    "diff_lines",
    "filter_entries",
    "outcome_counts",
    "parse_status_filter",
    "status_counts",
]
