"""What the commands print when piped: ids whole, nothing cut, at 80 columns and without
``COLUMNS``; one error style; one vocabulary (``--home``, ``--json``, ``--version``, the
``benchmark`` group). Each command runs as a real subprocess of the console script with
stdout piped, on the quickstart's home.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git

BIN = Path(sys.executable).parent / "specdistill"
#: What rich prints when it crops a cell or a line: never, in piped output.
CROPPED = "…"


def sd(
    *args: object, columns: int | None = 80, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    proc = subprocess.run(
        [str(BIN), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A quickstart home (made by the console script, --home) and its session id."""
    tmp = tmp_path_factory.mktemp("output")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, tmp)
        home = tmp / "demo"
        proc = sd("quickstart", "--home", home, "--json")
        session = json.loads(proc.stdout)
        return home, session["id"]


def whole(text: str, *ids: str) -> None:
    """Each id appears unbroken on some line, and nothing was cropped."""
    lines = text.splitlines()
    for value in ids:
        assert any(value in line for line in lines), f"{value!r} split or missing:\n{text}"
    assert CROPPED not in text, text


@pytest.mark.parametrize("columns", [80, None], ids=["COLUMNS=80", "no-COLUMNS"])
def test_piped_output_keeps_every_id_whole(demo: tuple[Path, str], columns: int | None) -> None:
    home, sid = demo
    qids = [f"{sid}:e6-concise-prompt", f"{sid}:e7-terse-examples"]
    edits = ["e1-calculator-exact", "e2-route-geo-big", "e3-warmer", "e4-drop-calculator",
             "e5-more-turns", "e6-concise-prompt", "e7-terse-examples", "e8-lora"]  # fmt: skip
    history = sd("history", "--home", home, columns=columns).stdout
    whole(history, sid, "awaiting_review", "0.388 → 0.750")
    show = sd("show", sid, "--home", home, columns=columns).stdout
    whole(show, sid, *edits, "+0.583", "rejected_by_gate", "pending_review", "+0.750")
    log = sd("log", "--home", home, columns=columns).stdout
    whole(log, sid, "e1-calculator-exact", "e2-route-geo-big", "edit_tool_description")
    review = sd("review", "--home", home, columns=columns).stdout
    whole(review, *qids, "patch_system_prompt", "edit_few_shot_exemplars")
    shown = sd("review", "show", qids[0], "--home", home, columns=columns).stdout
    whole(shown, qids[0], "agents/assistant/system_prompt.md")
    bench = sd("benchmark", "run", "--home", home, columns=columns).stdout
    whole(bench, "arithmetic", "capitals", "formatting", "units")
    # A grep for the session finds its line in every listing.
    for text in (history, show, log, review):
        assert [line for line in text.splitlines() if sid in line]


def test_at_80_columns_tables_fit_or_become_lists(demo: tuple[Path, str]) -> None:
    home, sid = demo
    for args in (("history",), ("show", sid), ("log",), ("review",), ("benchmark", "run")):
        text = sd(*args, "--home", home, columns=80).stdout
        for line in text.splitlines():
            # a table line fits; only free text (reasons, commands) may run longer
            if line.startswith(("┃", "│", "┏", "┡", "└", "━")):
                assert len(line) <= 80, (args, line)
    # the edits table of 'show' does not fit 80 columns: it is a list, one field a line
    show = sd("show", sid, "--home", home, columns=80).stdout
    assert "- edit: e4-drop-calculator" in show
    assert "  gate Δ target: +0.000 (n=11)" in show
    # ... and at 200 columns it is a table, with the same numbers
    wide = sd("show", sid, "--home", home, columns=200).stdout
    row = next(line for line in wide.splitlines() if line.startswith("│ e4-drop-calculator "))
    assert "+0.000 (n=11)" in row and "-0.364 (n=11)" in row


def test_the_numbers_agree_and_are_labelled(demo: tuple[Path, str]) -> None:
    """'gate Δ target' is the gate's mean on the tasks it ran (the reports' number);
    the benchmark table's Δ is the whole benchmark, after minus before."""
    home, sid = demo
    show = sd("show", sid, "--home", home, columns=200).stdout
    md = next(home.glob(f"learning/sessions/{sid}/report.md")).read_text()
    for number in ("+0.583 (n=12)", "+0.700 (n=10)", "-0.364 (n=11)"):
        assert number in show and number in md
    assert "gate Δ: mean change on the tasks the gate ran" in show
    assert "gate Δ: mean change on the tasks the gate ran" in md
    assert "ended: not yet: edits wait for review" in show  # not '– (took –)'


def test_one_error_style_for_usage_and_library_errors(demo: tuple[Path, str]) -> None:
    home, _ = demo
    cases = [
        (("apply",), "Missing argument 'PLAN.json'"),
        (("show", "--bogus"), "No such option: --bogus"),
        (("nosuch",), "No such command 'nosuch'"),
        (("history", "--limit", "0", "--home", home), "--limit"),
        (("show", "no-such-session", "--home", home), "no-such-session"),
    ]
    for args, needle in cases:
        proc = sd(*args, check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(lines) == 2 and lines[0].startswith("error: ") and needle in lines[0], lines
        assert lines[1].startswith("hint: "), lines
        assert "Usage:" not in proc.stderr and "╭" not in proc.stderr and proc.stdout == ""


def test_usage_lines_show_plain_argument_names() -> None:
    for args, usage in (
        (("apply",), "Usage: specdistill apply [OPTIONS] PLAN.json"),
        (("rollback",), "Usage: specdistill rollback [OPTIONS] [SESSION_ID]"),
        (("show",), "Usage: specdistill show [OPTIONS] SESSION_ID"),
        (("approve",), "Usage: specdistill approve [OPTIONS] ID"),
        (("history",), "Usage: specdistill history [OPTIONS]"),
    ):
        text = sd(*args, "--help").stdout
        assert text.splitlines()[0] == usage
        assert not re.search(r"\{\w|\[\[|<bool>|<int range>", text), text


def test_version_json_everywhere_and_one_benchmark_group(demo: tuple[Path, str]) -> None:
    home, _ = demo
    assert re.fullmatch(r"specdistill \S+\n", sd("--version").stdout)
    stats = json.loads(sd("cache", "stats", "--home", home, "--json").stdout)
    assert stats["entries"] > 0 and stats["path"].endswith("cache.db")
    run = json.loads(sd("benchmark", "run", "--home", home, "--json").stdout)
    alias = json.loads(sd("bench", "run", "--home", home, "--json").stdout)  # hidden alias
    assert run["clusters"] == alias["clusters"]
    assert "bench " not in sd("--help", columns=200).stdout  # one group is listed
    assert "run" in sd("benchmark", "--help").stdout
    # the gate default: apply's differs from run's, and --help says so
    for command in ("apply", "run", "approve"):
        text = " ".join(sd(command, "--help", columns=200).stdout.split())
        assert "run, loop and approve default to sequential; apply to off" in text


def test_quickstart_takes_home_and_the_positional_dir_still_works(tmp_path: Path) -> None:
    proc = sd("quickstart", tmp_path / "old-style", "--json", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "deprecated; use 'quickstart --home DIR'" in proc.stderr
    assert (tmp_path / "old-style/config.toml").exists()


def test_a_rolled_back_session_says_so_everywhere_and_cannot_be_rolled_back_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    home = tmp_path / "demo"
    sid = json.loads(sd("quickstart", "--home", home, "--json").stdout)["id"]
    sd("rollback", sid, "--home", home)
    assert "0.388 → 0.750, rolled back" in sd("history", "--home", home, columns=200).stdout
    show = sd("show", sid, "--home", home, columns=200).stdout
    assert "status: rolled_back" in show and "the session was rolled back" in show
    report = next(home.glob(f"learning/sessions/{sid}/report.md")).read_text()
    assert "the session was rolled back: the spec is as it was before it" in report
    again = sd("rollback", sid, "--home", home, check=False)
    assert again.returncode == 2
    assert again.stderr.startswith(f"error: session {sid} is already rolled back\nhint: ")
