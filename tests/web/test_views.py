"""The review page's pure shaping: diff lines classified and bounded, status filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from specdistill.commands import HistoryEntry
from specdistill.models import LearningSession, SessionStatus
from specdistill.web.views import (
    MAX_DIFF_LINES,
    MAX_LINE_CHARS,
    diff_lines,
    filter_entries,
    outcome_counts,
    parse_status_filter,
    status_counts,
)

DIFF = """\
--- a/agents/assistant/system_prompt.md
+++ b/agents/assistant/system_prompt.md
@@ -1,2 +1,2 @@
 You are a friendly assistant.
-Be warm.
+Be concise.
"""


def test_diff_lines_are_classified() -> None:
    kinds = [(line.kind, line.text) for line in diff_lines(DIFF)]
    assert kinds == [
        ("file", "--- a/agents/assistant/system_prompt.md"),
        ("file", "+++ b/agents/assistant/system_prompt.md"),
        ("hunk", "@@ -1,2 +1,2 @@"),
        ("ctx", " You are a friendly assistant."),
        ("del", "-Be warm."),
        ("add", "+Be concise."),
    ]


def test_a_huge_diff_is_cut_and_says_so() -> None:
    long_line = "+" + "x" * (MAX_LINE_CHARS * 2)
    lines = diff_lines("\n".join([long_line] * (MAX_DIFF_LINES + 7)))
    assert len(lines) == MAX_DIFF_LINES + 1
    assert len(lines[0].text) == MAX_LINE_CHARS + 2 and lines[0].text.endswith(" …")
    assert lines[-1] == type(lines[-1])("hunk", "… 7 more line(s) not shown")


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("completed", "completed"), ("rolled_back", "rolled_back"), ("", None), (None, None),
     ("<script>", None), ("COMPLETED", None)],
)  # fmt: skip
def test_an_unknown_status_filter_shows_all(raw: str | None, parsed: str | None) -> None:
    assert parse_status_filter(raw) == parsed


def test_every_session_status_can_be_filtered() -> None:
    assert all(parse_status_filter(s.value) == s.value for s in SessionStatus)


def session(sid: str, status: SessionStatus) -> LearningSession:
    return LearningSession(id=sid, status=status, started_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_filter_and_counts() -> None:
    entries = [
        HistoryEntry("a", "completed", session=session("a", SessionStatus.COMPLETED)),
        HistoryEntry("b", "rolled_back", session=session("b", SessionStatus.ROLLED_BACK)),
        HistoryEntry("c", "completed", session=session("c", SessionStatus.COMPLETED)),
        HistoryEntry("d", "weird"),
    ]
    assert [e.id for e in filter_entries(entries, "completed")] == ["a", "c"]
    assert [e.id for e in filter_entries(entries, None)] == ["a", "b", "c", "d"]
    assert status_counts(entries) == [("completed", 2), ("rolled_back", 1), ("weird", 1)]
    assert outcome_counts(entries[0]) == "none"
    assert outcome_counts(entries[3]) == "unreadable"
