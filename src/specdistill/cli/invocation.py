"""Commands printed for the user to run next, runnable as printed.

A printed ``specdistill review`` fails when the command was run as
``.venv/bin/specdistill`` (not on ``PATH``) or as ``python -m specdistill.cli``. :func:`prog`
is the executable as it was invoked, derived from ``sys.argv[0]``; :func:`runnable`
rewrites the ``specdistill <command>`` examples in a hint to use it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

NAME = "specdistill"
#: Set by scripts/ (which put .venv/bin on their own PATH, not the user's): the path the
#: user can run afterwards.
INVOKED_AS = "SPECDISTILL_INVOKED_AS"
#: ``specdistill <command>`` quoted in a hint: after a quote, a parenthesis or ``: ``.
_QUOTED = re.compile(r"(?<=['`(])specdistill(?= [a-z])|(?<=: )specdistill(?= [a-z])")


def prog(argv0: str | None = None) -> str:
    """How to run specdistill again, as it was run this time.

    ``$SPECDISTILL_INVOKED_AS`` wins (``scripts/quickstart`` sets it to the venv's script).
    ``specdistill`` when that name on ``PATH`` is the script that runs; the path as typed
    otherwise (``.venv/bin/specdistill``); ``python -m specdistill.cli`` (with the
    interpreter that runs it) for the module form; plain ``specdistill`` for anything else
    (a test runner, an embedding program).
    """
    arg = sys.argv[0] if argv0 is None else argv0
    if argv0 is None and (told := os.environ.get(INVOKED_AS)):
        return shlex.quote(_short(told))
    path = Path(arg)
    if path.name == "__main__.py" and path.parent.name == "cli":
        python = "python" if _same(shutil.which("python"), sys.executable) else sys.executable
        return f"{shlex.quote(python)} -m specdistill.cli"
    if path.name != NAME:
        return NAME
    if os.sep not in arg or _same(shutil.which(NAME), arg):
        return NAME
    return shlex.quote(arg)


def _short(path: str) -> str:
    """``path`` relative to the current folder when it is under it (``.venv/bin/…``)."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else path
    except (OSError, ValueError):
        return path


def _same(found: str | None, path: str) -> bool:
    if not found:
        return False
    try:
        return os.path.samefile(found, path)
    except OSError:
        return False


def runnable(text: str, argv0: str | None = None) -> str:
    """``text`` with each quoted ``specdistill <command>`` run the way :func:`prog` says."""
    name = prog(argv0)
    return text if name == NAME else _QUOTED.sub(name, text)
