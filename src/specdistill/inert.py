"""Untrusted text made inert before it reaches a terminal.

Edit ids, rationales, diffs, cluster names, endpoint replies and teacher notes come
from outside. Printed raw, an ``ESC ]0;…BEL`` retitles the terminal, ``ESC [2J``
clears it, a lone ``CR`` overwrites the start of the line with something else, and a
bidi override reorders what the reader sees. :func:`inert` shows every such
character as a visible escape (``\\x1b``, ``\\x07``, ``\\x0d``, ``\\u202e``) and keeps
newlines and tabs, so the text still reads as text. The CLI applies it at one
boundary (its consoles' ``render_str``, and the progress bars' descriptions), as the
reports already escape what they embed.

Bottom layer: the standard library only.
"""

from __future__ import annotations

import re

#: C0 controls but tab and newline, DEL, C1 controls, the Unicode line and paragraph
#: separators, bidi embeddings, overrides and isolates, and the BOM / zero-width no-break.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\ufeff]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """``text`` with every terminal control character shown as an escape.

    >>> inert("id\\x1b]0;pwned\\x07 ok\\r")
    'id\\\\x1b]0;pwned\\\\x07 ok\\\\x0d'
    """
    return _UNSAFE.sub(_escaped, text)


__all__ = ["inert"]
