"""Apply a unified diff to a text, strictly; pure (no I/O, stdlib only).

The diff comes from a teacher model and is untrusted, so it either applies cleanly or is
refused with a one-line ``PatchError``. The rules, and why:

* Preamble: optional ``diff``/``index``/git mode lines and ``---``/``+++`` headers (file
  names ignored) and blank lines; any other text before the first hunk is refused. At least
  one hunk; a second file header after a hunk is refused (one file per diff).
* Hunk headers ``@@ -a[,b] +c[,d] @@ [section]`` must match the body's line counts. The
  new-side start ``c`` is informational only.
* Context and removed lines must match the original exactly (no fuzz). A hunk is tried at
  its stated line (shifted by the previous hunk's offset); if it does not match there, it
  is searched for anywhere after the previous hunk and must match at exactly one place.
  A pure insertion (``-a,0``) has no content to search for: only that shift applies. Hunks must
  be in order and must not overlap. Searching is capped by ``_SEARCH_BUDGET`` line
  comparisons, so hostile diffs cost linear time.
* An entirely empty line inside a hunk is an empty context line (as GNU patch reads it).
* ``\\ No newline at end of file`` (any line starting with a backslash) strips the newline
  of the line before it, on either side; such a line must end the text.
* Line endings: lines split on ``\\n`` only. When matching, ``\\r\\n`` and ``\\n`` are the
  same terminator; context lines keep the original's bytes. Added lines keep the diff's
  ending, except when the original uses one ending throughout and the diff's hunk lines
  use the other throughout (an LF diff of a CRLF prompt): then added lines take the
  original's. A diff whose every line (headers too) ends in CRLF is read as LF first.
  A diff not ending in a newline is read as if it did (only the marker removes newlines).
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Literal

__all__ = ["PatchError", "apply_unified_diff", "make_unified_diff"]

_HUNK_RE = re.compile(r"(@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@)(?: .*)?")
_PREAMBLE = (
    *("diff ", "index ", "--- ", "+++ "),
    *("old mode ", "new mode ", "new file mode ", "deleted file mode "),
)
_MARKER = "\\ No newline at end of file\n"
_SEARCH_BUDGET = 2_000_000  # line comparisons spent on offset search, for the whole diff


class PatchError(ValueError):
    """The diff is malformed or does not apply; the message is one human-readable line."""


@dataclass(frozen=True)
class _Hunk:
    label: str  # "hunk 2 (@@ -10,3 +10,4 @@)", for messages
    start: int  # 0-based index in the original where the old side begins
    body: list[tuple[str, str]]  # (tag, content incl. its newline unless marked)
    old: list[str]  # match keys of the context and removed lines


#: What a line of a unified diff is, for the renderers (terminal, report, review page).
DiffLineKind = Literal["file", "hunk", "add", "del", "ctx"]


def diff_line_kind(line: str) -> DiffLineKind:
    """The kind of one line of a unified diff (git's ``diff``/``index`` headers are
    ``file`` lines, like ``---``/``+++``)."""
    if line.startswith(("+++", "---", "diff ", "index ")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "ctx"


def _split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept; splits on ``\\n`` only (not on \\r, \\x0c, \\u2028...)."""
    parts = text.split("\n")
    tail = parts.pop()
    return [p + "\n" for p in parts] + ([tail] if tail else [])


def _key(line: str) -> str:
    """What a line is compared by: CRLF and LF terminators are the same."""
    return line[:-2] + "\n" if line.endswith("\r\n") else line


def _show(line: str, limit: int = 60) -> str:
    """A short, single-line rendering of a line for messages."""
    text = line.removesuffix("\n").removesuffix("\r")
    return repr(text[:limit] + "…" if len(text) > limit else text)


def _uniform_eol(lines: list[str]) -> str | None:
    """The one terminator ('\\n' or '\\r\\n') all terminated lines use, else None."""
    eols = {"\r\n" if line.endswith("\r\n") else "\n" for line in lines if line.endswith("\n")}
    return eols.pop() if len(eols) == 1 else None


def _parse_hunk(lines: list[str], i: int, number: int) -> tuple[_Hunk, int]:
    """Parse the hunk whose header is ``lines[i]``; return it and the index after it."""
    header = lines[i].rstrip("\r\n")
    m = _HUNK_RE.fullmatch(header)
    if m is None:
        raise PatchError(f"line {i + 1}: malformed hunk header {_show(header)}")
    label = f"hunk {number} ({m[1]})"
    a, b = int(m[2]), int(m[3] or 1)
    c, d = int(m[4]), int(m[5] or 1)
    if (a == 0 and b) or (c == 0 and d):
        raise PatchError(f"{label}: line 0 is only valid with a count of 0")
    body: list[tuple[str, str]] = []
    old_left, new_left, j = b, d, i + 1
    counts = f"the header counts {b} old and {d} new lines"
    while j < len(lines):
        raw = lines[j]
        tag, content = (" ", raw) if raw in ("\n", "\r\n") else (raw[0], raw[1:])
        if tag == "\\":  # "\ No newline at end of file" applies to the previous line
            if not body or not body[-1][1].endswith("\n"):
                raise PatchError(f"{label}: misplaced no-newline marker at diff line {j + 1}")
            body[-1] = (body[-1][0], body[-1][1][:-1])
            j += 1
            continue
        if not (old_left or new_left):
            break
        if tag not in " -+":
            if raw.startswith("@@"):
                raise PatchError(f"{label}: {counts} but the body ends early at diff line {j + 1}")
            raise PatchError(f"{label}: diff line {j + 1} has invalid prefix {_show(raw)}")
        old_left -= tag != "+"
        new_left -= tag != "-"
        if old_left < 0 or new_left < 0:
            side = "old" if old_left < 0 else "new"
            raise PatchError(f"{label}: {counts} but the body has more {side} lines")
        body.append((tag, content))
        j += 1
    if old_left or new_left:
        raise PatchError(f"{label}: diff ends inside the hunk ({counts}; truncated?)")
    old = [_key(content) for tag, content in body if tag != "+"]
    return _Hunk(label, a - 1 if b else a, body, old), j


def _parse(diff: str) -> list[_Hunk]:
    """Split the diff into hunks, refusing anything that is not a single-file unified diff."""
    lines = _split_lines(diff)
    ended = [line for line in lines if line.endswith("\n")]
    if ended and all(line.endswith("\r\n") for line in ended):  # CRLF-transported diff
        lines = [line.removesuffix("\r\n") + "\n" for line in lines]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    hunks: list[_Hunk] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("@@"):
            hunk, i = _parse_hunk(lines, i, len(hunks) + 1)
            hunks.append(hunk)
            continue
        text = line.rstrip("\r\n")
        if hunks and text.startswith(_PREAMBLE):
            raise PatchError(f"line {i + 1}: a second file header; one file per diff")
        if hunks and text[:1] in ("+", "-", " "):
            raise PatchError(f"{hunks[-1].label}: the body has more lines than the header counts")
        if text.strip() and not (text.startswith(_PREAMBLE) or text in ("---", "+++")):
            where = f"after {hunks[-1].label}" if hunks else "before the first hunk"
            raise PatchError(f"line {i + 1}: unexpected text {where}: {_show(text)}")
        i += 1
    if not hunks:
        raise PatchError("no hunks: expected a line starting with '@@ -'")
    return hunks


def _mismatch(hunk: _Hunk, orig: list[str], keys: list[str], at: int) -> str:
    """Describe the first line where ``hunk`` fails to match at index ``at``."""
    for tag, content in (item for item in hunk.body if item[0] != "+"):
        kind = "context" if tag == " " else "removed"
        if at >= len(keys):
            found = f"end of text ({len(keys)} lines)"
        elif keys[at] != _key(content):
            found = _show(orig[at])
        else:
            at += 1
            continue
        return f"{kind} line {at + 1} does not match: expected {_show(content)}, found {found}"
    return "does not match"  # unreachable when called for a failed match


def _locate(
    hunk: _Hunk, keys: list[str], lo: int, index: dict[str, list[int]], budget: int
) -> tuple[list[int], int]:
    """Up to two indexes >= ``lo`` where ``hunk`` matches, and the search budget left."""
    n, found = len(hunk.old), list[int]()
    starts = index.get(hunk.old[0], [])
    for s in range(bisect_left(starts, lo), bisect_right(starts, len(keys) - n)):
        budget -= n
        if budget < 0:
            raise PatchError(f"{hunk.label}: too costly to locate; state exact line numbers")
        if keys[starts[s] : starts[s] + n] == hunk.old:
            found.append(starts[s])
            if len(found) > 1:
                break
    return found, budget


def apply_unified_diff(original: str, diff: str) -> str:
    """Apply ``diff`` to ``original`` and return the new text, or raise PatchError."""
    hunks = _parse(diff)
    orig = _split_lines(original)
    keys = [_key(line) for line in orig]
    orig_eol, diff_eol = _uniform_eol(orig), _uniform_eol([c for h in hunks for _, c in h.body])
    new_eol = orig_eol if orig_eol and diff_eol and orig_eol != diff_eol else None
    index: dict[str, list[int]] = {}
    out: list[str] = []
    out_starts: list[int] = []  # where each hunk's output begins in ``out``
    budget, cursor, offset, stated_end = _SEARCH_BUDGET, 0, 0, 0
    for hunk in hunks:
        if hunk.start < stated_end:
            raise PatchError(f"{hunk.label}: overlaps or precedes the previous hunk")
        stated_end = hunk.start + len(hunk.old)
        n, pos = len(hunk.old), hunk.start + offset  # >= cursor, by the order check
        if pos + n > len(keys) or keys[pos : pos + n] != hunk.old:
            if n == 0:
                raise PatchError(f"{hunk.label}: insertion point is past the end of the text")
            if not index:
                for k, key in enumerate(keys):
                    index.setdefault(key, []).append(k)
            found, budget = _locate(hunk, keys, cursor, index, budget)
            if len(found) != 1:
                why = _mismatch(hunk, orig, keys, pos)
                if found:
                    where = f"lines {found[0] + 1} and {found[1] + 1}"
                    raise PatchError(f"{hunk.label}: {why}; ambiguous: it matches at {where}")
                raise PatchError(f"{hunk.label}: {why} (nor anywhere after the previous hunk)")
            pos = found[0]
        out.extend(orig[cursor:pos])
        out_starts.append(len(out))
        for tag, content in hunk.body:
            if tag == " ":
                out.append(orig[pos])
            elif tag == "+" and new_eol and content.endswith("\n"):
                out.append(content.removesuffix("\n").removesuffix("\r") + new_eol)
            elif tag == "+":
                out.append(content)
            pos += tag != "+"
        cursor, offset = pos, pos - stated_end
    out.extend(orig[cursor:])
    # A line without newline must end the text, or it would be glued to the next one.
    bad = next((k for k, line in enumerate(out[:-1]) if not line.endswith("\n")), None)
    if bad is not None:
        hunk = hunks[max(bisect_right(out_starts, bad + 1) - 1, 0)]
        raise PatchError(f"{hunk.label}: a line without newline would not be the last line")
    return "".join(out)


def make_unified_diff(before: str, after: str, *, path: str = "system_prompt.md") -> str:
    """A unified diff from before to after (difflib), that apply_unified_diff(before, ·)
    turns into after exactly. Identical texts give a no-op hunk, since a diff needs one."""
    a, b = _split_lines(before), _split_lines(after)
    lines = list(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))
    if not lines:
        k = min(len(a), 3)
        lines = [f"--- a/{path}\n", f"+++ b/{path}\n", f"@@ -{min(k, 1)},{k} +{min(k, 1)},{k} @@\n"]
        lines += [" " + line for line in a[:k]]
    return "".join(line if line.endswith("\n") else line + "\n" + _MARKER for line in lines)
