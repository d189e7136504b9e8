"""Tests for specdistill.diffpatch: strict unified-diff application to untrusted diffs."""

from __future__ import annotations

import contextlib
import difflib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specdistill.diffpatch import PatchError, apply_unified_diff, diff_line_kind, make_unified_diff

ABC = "a\nb\nc\nd\ne\nf\ng\nh\n"
NO_NL = "\\ No newline at end of file\n"

# --- hostile / invalid diffs --------------------------------------------------------------

# (id, original, diff, substrings the PatchError message must contain)
BAD: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("empty-diff", ABC, "", ("no hunks",)),
    ("headers-only", ABC, "--- a/x\n+++ b/x\n", ("no hunks",)),
    ("garbage", ABC, "please make it friendlier\n", ("line 1", "before the first hunk")),
    (
        "prose-before-hunk",
        ABC,
        "Here is the patch:\n@@ -1 +1 @@\n-a\n+A\n",
        ("line 1", "'Here is the patch:'"),
    ),
    ("malformed-header", ABC, "@@ -x +1 @@\n-a\n+A\n", ("malformed hunk header",)),
    ("header-missing-closing", ABC, "@@ -1 +1\n-a\n+A\n", ("malformed hunk header",)),
    ("huge-number-digits", ABC, "@@ -" + "9" * 5000 + " +1 @@\n-a\n", ("malformed",)),
    ("line-0-with-count", ABC, "@@ -0,1 +1 @@\n-a\n+A\n", ("hunk 1", "line 0")),
    (
        "counts-too-small",
        ABC,
        "@@ -1,1 +1,1 @@\n-a\n+A\n b\n",
        ("hunk 1 (@@ -1,1 +1,1 @@)", "more lines than the header counts"),
    ),
    (
        "counts-too-small-old-side",
        ABC,
        "@@ -1,1 +1,2 @@\n-a\n+A\n b\n",
        ("hunk 1 (@@ -1,1 +1,2 @@)", "more old lines"),
    ),
    (
        "counts-too-large-before-next-hunk",
        ABC,
        "@@ -1,3 +1,3 @@\n-a\n+A\n b\n@@ -6 +6 @@\n-f\n+F\n",
        ("hunk 1 (@@ -1,3 +1,3 @@)", "ends early", "diff line 5"),
    ),
    (
        "truncated-hunk",
        ABC,
        "--- a/p\n+++ b/p\n@@ -1,3 +1,3 @@\n a\n-b\n",
        ("hunk 1 (@@ -1,3 +1,3 @@)", "truncated"),
    ),
    (
        "context-mismatch",
        ABC,
        "@@ -1,3 +1,3 @@\n a\n-b\n+B\n C\n",
        ("hunk 1 (@@ -1,3 +1,3 @@)", "context line 3 does not match", "expected 'C'", "'c'"),
    ),
    (
        "removed-mismatch",
        ABC,
        "@@ -2,2 +2,2 @@\n b\n-X\n+Y\n",
        ("hunk 1", "removed line 3 does not match", "expected 'X', found 'c'"),
    ),
    (
        "context-whitespace-is-not-fuzzed",
        ABC,
        "@@ -1,2 +1,2 @@\n a \n-b\n+B\n",
        ("context line 1", "expected 'a '"),
    ),
    (
        "context-past-end",
        ABC,
        "@@ -8,2 +8,2 @@\n h\n-i\n+I\n",
        ("removed line 9", "end of text (8 lines)"),
    ),
    (
        "huge-line-number",
        ABC,
        "@@ -999999999,1 +999999999,1 @@\n-z\n+Z\n",
        ("hunk 1", "end of text"),
    ),
    (
        "insertion-past-end",
        ABC,
        "@@ -20,0 +21 @@\n+new\n",
        ("hunk 1", "past the end"),
    ),
    (
        "overlapping-hunks",
        ABC,
        "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -3,2 +3,2 @@\n c\n-d\n+D\n",
        ("hunk 2 (@@ -3,2 +3,2 @@)", "overlaps"),
    ),
    (
        "out-of-order-hunks",
        ABC,
        "@@ -6 +6 @@\n-f\n+F\n@@ -2 +2 @@\n-b\n+B\n",
        ("hunk 2 (@@ -2 +2 @@)", "precedes the previous hunk"),
    ),
    (
        "bad-prefix",
        ABC,
        "@@ -1,2 +1,2 @@\n a\n*b\n",
        ("hunk 1", "diff line 3", "invalid prefix", "'*b'"),
    ),
    ("tab-prefix", ABC, "@@ -1 +1 @@\n\ta\n", ("invalid prefix",)),
    (
        "ambiguous-offset",
        "x\ny\nx\ny\nz\n",
        "@@ -5,2 +5,2 @@\n x\n-y\n+Y\n",
        ("hunk 1", "ambiguous", "lines 1 and 3"),
    ),
    (
        "match-only-before-previous-hunk",
        ABC,
        "@@ -4 +4 @@\n-d\n+D\n@@ -7 +7 @@\n-a\n+A\n",
        ("hunk 2", "nor anywhere after the previous hunk"),
    ),
    (
        "second-file",
        ABC,
        "--- a/p\n+++ b/p\n@@ -1 +1 @@\n-a\n+A\n--- a/q\n+++ b/q\n@@ -1 +1 @@\n-a\n+A\n",
        ("line 6", "one file per diff"),
    ),
    (
        "text-after-hunk",
        ABC,
        "@@ -1 +1 @@\n-a\n+A\nThat should do it!\n",
        ("after hunk 1", "'That should do it!'"),
    ),
    ("marker-first-in-hunk", ABC, "@@ -1 +1 @@\n" + NO_NL + "-a\n+A\n", ("misplaced",)),
    ("marker-twice", "a", "@@ -1 +1 @@\n-a\n" + NO_NL + NO_NL + "+A\n", ("misplaced",)),
    (
        "marker-would-glue-lines",
        ABC,
        "@@ -1,2 +1,2 @@\n-a\n+A\n" + NO_NL + " b\n",
        ("hunk 1", "without newline would not be the last line"),
    ),
    (
        "insert-after-unterminated-last-line",
        "a\nb",
        "@@ -2,0 +3 @@\n+c\n",
        ("hunk 1", "without newline"),
    ),
    (
        "marker-mismatch-on-old-side",
        ABC,
        "@@ -8 +8 @@\n-h\n" + NO_NL + "+H\n",
        ("removed line 8", "expected 'h'"),
    ),
]


@pytest.mark.parametrize(
    ("original", "diff", "needles"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_diffs_are_refused(original: str, diff: str, needles: tuple[str, ...]) -> None:
    with pytest.raises(PatchError) as info:
        apply_unified_diff(original, diff)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_patch_error_is_value_error() -> None:
    assert issubclass(PatchError, ValueError)


# --- round trips ----------------------------------------------------------------------------

ROUND_TRIPS: list[tuple[str, str, str]] = [
    ("edit-middle", ABC, ABC.replace("d\n", "D\n")),
    ("add-trailing-newline", "a\nb", "a\nb\n"),
    ("remove-trailing-newline", "a\nb\n", "a\nb"),
    ("neither-has-trailing-newline", "a\nb", "a\nB"),
    ("only-old-side-unterminated-and-changed", "a\nb", "a\nc\n"),
    ("empty-to-text", "", "hello\nworld\n"),
    ("empty-to-unterminated", "", "hello"),
    ("text-to-empty", "hello\nworld\n", ""),
    ("unterminated-to-empty", "hello", ""),
    ("empty-to-empty", "", ""),
    ("identical", ABC, ABC),
    ("identical-unterminated", "x", "x"),
    ("blank-lines", "\n\n\n", "\n\nx\n\n"),
    ("crlf-edit", "a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n"),
    ("crlf-to-lf", "a\r\nb\r\n", "a\nb\n"),
    ("lf-to-crlf", "a\nb\n", "a\r\nb\r\n"),
    ("mixed-endings", "a\r\nb\nc\r\n", "a\r\nb\nX\r\nc\r\n"),
    ("lone-cr-at-end", "a\r", "a\r\n"),
    ("unicode", "héllo\n\u2028wörld\n", "héllo\n\u2028wörld\n🎉\n"),
    ("diff-like-lines", "+a\n-b\n c\n\\d\n@@ -1 +1 @@\n", "-a\n+b\n\\d\n@@ x\n"),
]


@pytest.mark.parametrize(
    ("before", "after"), [r[1:] for r in ROUND_TRIPS], ids=[r[0] for r in ROUND_TRIPS]
)
def test_round_trip(before: str, after: str) -> None:
    assert apply_unified_diff(before, make_unified_diff(before, after)) == after


def test_make_unified_diff_format() -> None:
    diff = make_unified_diff("a\nb", "a\nc", path="agents/x/system_prompt.md")
    assert diff == (
        "--- a/agents/x/system_prompt.md\n+++ b/agents/x/system_prompt.md\n"
        "@@ -1,2 +1,2 @@\n a\n-b\n" + NO_NL + "+c\n" + NO_NL
    )


# --- line endings and lenient-but-safe syntax -------------------------------------------------


def test_lf_diff_on_crlf_original_keeps_crlf() -> None:
    original = "a\r\nb\r\nc\r\n"
    diff = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n"
    assert apply_unified_diff(original, diff) == "a\r\nB\r\nB2\r\nc\r\n"


def test_crlf_transported_diff_on_lf_original() -> None:
    diff = "--- a/p\r\n+++ b/p\r\n@@ -1,2 +1,2 @@\r\n a\r\n-b\r\n+B\r\n"
    assert apply_unified_diff("a\nb\nc\n", diff) == "a\nB\nc\n"


def test_crlf_diff_of_crlf_original_with_missing_final_newline() -> None:
    before, after = "a\r\nb", "a\r\nB"
    diff = make_unified_diff(before, after)
    assert "\\ No newline" in diff
    assert apply_unified_diff(before, diff) == after


def test_untouched_lines_keep_their_endings_in_mixed_original() -> None:
    original = "a\r\nb\nc\r\n"
    diff = "@@ -2 +2 @@\n-b\n+B\n"
    # Mixed original: no translation, added line keeps the diff's LF.
    assert apply_unified_diff(original, diff) == "a\r\nB\nc\r\n"


def test_empty_line_in_hunk_is_empty_context() -> None:
    original = "a\n\nb\n"
    diff = "@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n"
    assert apply_unified_diff(original, diff) == "a\n\nB\n"


def test_diff_without_final_newline_is_read_as_terminated() -> None:
    assert apply_unified_diff("a\nb\n", "@@ -2 +2 @@\n-b\n+B") == "a\nB\n"


def test_git_style_headers_and_section_text() -> None:
    diff = (
        "diff --git a/system_prompt.md b/system_prompt.md\n"
        "index 3b18e51..a9c1d2f 100644\n"
        "--- a/system_prompt.md\n"
        "+++ b/system_prompt.md\n"
        "@@ -2,3 +2,3 @@ # Role\n"
        " b\n"
        "-c\n"
        "+see\n"
        " d\n"
    )
    assert apply_unified_diff(ABC, diff) == ABC.replace("c\n", "see\n")


def test_empty_original_and_delete_everything() -> None:
    assert apply_unified_diff("", "--- /dev/null\n+++ b/p\n@@ -0,0 +1,2 @@\n+x\n+y\n") == "x\ny\n"
    assert apply_unified_diff("x\ny\n", "@@ -1,2 +0,0 @@\n-x\n-y\n") == ""


# --- multi-hunk and offsets ---------------------------------------------------------------------

LONG = "".join(f"line {i}\n" for i in range(1, 61))


def test_multi_hunk_from_make_unified_diff() -> None:
    after = (
        LONG.replace("line 5\n", "five\n").replace("line 30\n", "").replace("line 55\n", "x\ny\n")
    )
    diff = make_unified_diff(LONG, after)
    assert diff.count("\n@@ ") == 3
    assert apply_unified_diff(LONG, diff) == after


def test_hunks_found_at_an_offset() -> None:
    diff = make_unified_diff(
        LONG, LONG.replace("line 20\n", "twenty\n").replace("line 40\n", "forty\n")
    )
    shifted = "preamble 1\npreamble 2\n" + LONG.replace("line 30\n", "line 30\nextra\n")
    expected = shifted.replace("line 20\n", "twenty\n").replace("line 40\n", "forty\n")
    assert apply_unified_diff(shifted, diff) == expected


def test_exact_position_wins_over_other_matches() -> None:
    original = "x\ny\nx\ny\n"
    assert apply_unified_diff(original, "@@ -3,2 +3,2 @@\n x\n-y\n+Y\n") == "x\ny\nx\nY\n"


def test_diff_from_difflib_directly() -> None:
    before = "# Role\nYou are terse.\n\n## Rules\n- cite sources\n- no guessing\n"
    after = "# Role\nYou are terse and kind.\n\n## Rules\n- cite sources\n- ask when unsure\n"
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), "old", "new", n=1
        )
    )
    assert diff.count("@@ -") == 2
    assert apply_unified_diff(before, diff) == after


# --- bounded work -------------------------------------------------------------------------------


def _timed(original: str, diff: str) -> float:
    start = time.perf_counter()
    with contextlib.suppress(PatchError):
        apply_unified_diff(original, diff)
    return time.perf_counter() - start


def test_large_many_hunk_diff_is_fast() -> None:
    n = 40_000  # difflib itself is too slow at this size, so the diff is written directly
    before = "".join(f"line number {i}\n" for i in range(n))
    after = "".join(f"line number {i}\n" if i % 8 else f"changed {i}\n" for i in range(n))
    diff = "--- a/p\n+++ b/p\n" + "".join(
        f"@@ -{i + 1},2 +{i + 1},2 @@\n-line number {i}\n+changed {i}\n line number {i + 1}\n"
        for i in range(0, n, 8)
    )
    assert len(diff) > 256 * 1024
    start = time.perf_counter()
    assert apply_unified_diff(before, diff) == after
    assert time.perf_counter() - start < 1.0


def test_hostile_repetitive_search_is_bounded() -> None:
    original = "x\n" * 50_000
    diff = "@@ -1,3001 +1,3001 @@\n" + " x\n" * 3000 + "-y\n+z\n"
    with pytest.raises(PatchError, match=r"too costly|does not match"):
        apply_unified_diff(original, diff)
    assert _timed(original, diff) < 1.0


def test_many_tiny_hunks_and_huge_offsets_are_bounded() -> None:
    original = "a\nb\n" * 20_000
    hunks = "".join(f"@@ -{2 * k + 1} +{2 * k + 1} @@\n-b\n+B\n" for k in range(20_000))
    assert _timed(original, hunks) < 1.0
    far = "".join(f"@@ -{900_000_000 + k} +1 @@\n-a\n+A\n" for k in range(20_000))
    assert _timed(original, far) < 1.0


# --- properties ---------------------------------------------------------------------------------

_line = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=6),
    st.sampled_from(["", " ", "+", "-", "\\", "@@", "@@ -1 +1 @@", "--- a", "+++ b", "\r", "x"]),
)


@st.composite
def _texts(draw: st.DrawFn, pool: list[str] | None = None) -> str:
    """A text built from lines with random endings, often reusing lines from ``pool``."""
    choice = st.one_of(_line, st.sampled_from(pool)) if pool else _line
    lines = draw(st.lists(choice, max_size=12))
    eols = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    text = "".join(line + eol for line, eol in zip(lines, eols, strict=True))
    return text.removesuffix(eols[-1]) if lines and draw(st.booleans()) else text


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(_texts())
    return a, draw(_texts(a.split("\n") or None))


@settings(max_examples=100, deadline=None)
@given(_pairs())
def test_property_round_trip(pair: tuple[str, str]) -> None:
    a, b = pair
    assert apply_unified_diff(a, make_unified_diff(a, b)) == b


@settings(max_examples=100, deadline=None)
@given(_pairs(), st.data())
def test_property_foreign_text_applies_or_refuses(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    a, b = pair
    c = data.draw(_texts(a.split("\n") or None))
    try:
        result = apply_unified_diff(c, make_unified_diff(a, b))
    except PatchError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, str)


@settings(max_examples=100, deadline=None)
@given(_pairs(), st.lists(st.tuples(st.integers(0, 60), _line), max_size=4))
def test_property_mangled_diff_applies_or_refuses(
    pair: tuple[str, str], edits: list[tuple[int, str]]
) -> None:
    a, b = pair
    lines = make_unified_diff(a, b).split("\n")
    for where, junk in edits:  # overwrite or insert random lines
        lines.insert(where % (len(lines) + 1), junk)
    try:
        result = apply_unified_diff(a, "\n".join(lines))
    except PatchError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, str)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("--- a/config.toml", "file"),
        ("+++ b/config.toml", "file"),
        ("diff --git a/x b/x", "file"),
        ("index 3b18e51..a8c4d2e 100644", "file"),
        ("@@ -1,2 +1,2 @@ [agent]", "hunk"),
        ("+max_turns = 6", "add"),
        ("-max_turns = 4", "del"),
        (" unchanged", "ctx"),
        ("", "ctx"),
        ("\\ No newline at end of file", "ctx"),
    ],
)
def test_diff_line_kind_is_what_every_renderer_colours_by(line: str, kind: str) -> None:
    assert diff_line_kind(line) == kind
