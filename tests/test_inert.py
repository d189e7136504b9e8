"""specdistill.inert: terminal control characters shown escaped, text kept readable; the
CLI's consoles apply it to every string they render (table cells included)."""

from __future__ import annotations

import io

import pytest
from rich.table import Table

from specdistill.cli.app import InertConsole
from specdistill.inert import inert

CASES = [
    ("osc-title", "id\x1b]0;pwned\x07", "id\\x1b]0;pwned\\x07"),
    ("clear-screen", "\x1b[2Jx", "\\x1b[2Jx"),
    ("carriage-return", "ok\rFAKE", "ok\\x0dFAKE"),
    ("c1-csi", "a\x9b31mb", "a\\x9b31mb"),
    ("bidi-override", "abc\u202edcba", "abc\\u202edcba"),
    ("line-separator", "a\u2028b", "a\\u2028b"),
    ("nul-del", "a\x00b\x7f", "a\\x00b\\x7f"),
    ("newline-tab-kept", "line 1\n\tline 2", "line 1\n\tline 2"),
    ("plain", "café – ok", "café – ok"),
]


@pytest.mark.parametrize(("raw", "shown"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_inert(raw: str, shown: str) -> None:
    assert inert(raw) == shown


def test_the_cli_console_renders_every_string_inert() -> None:
    buffer = io.StringIO()
    console = InertConsole(file=buffer, width=100, color_system=None)
    table = Table()
    table.add_column("edit")
    table.add_row("e1\x1b]0;T\x07")
    console.print(table)
    console.print("[bold]r\x1b[31m[/]", "raw\r", markup=True)
    console.print("diff +\x1b[2J", markup=False)
    text = buffer.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "e1\\x1b]0;T\\x07" in text and "diff +\\x1b[2J" in text
