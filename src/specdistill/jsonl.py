"""One bounded reader for JSON Lines files (benchmarks, traces).

Reading a file (:func:`read_text`) refuses anything but a regular file — a FIFO, a device
or a directory could block or never end — and anything larger than ``max_bytes``, before
it is read. Parsing (:func:`json_objects`) yields each non-blank line's JSON object with
its line number and records one problem for every line that is not one, in the format
every line-oriented error (:class:`~specdistill.errors.BadLines`) uses::

    tasks.jsonl line 7: not JSON (Expecting value)
    tasks.jsonl line 9: field 'cluster': required key is missing

Lines end at ``\\n`` (a ``\\r`` before it is dropped) and nowhere else, so a JSON string
holding U+2028 or a form feed, which ``str.splitlines`` would cut, stays one line. Numbers
must be finite: ``NaN``, ``Infinity`` and ``1e999`` are refused.

Bottom layer: imports only the standard library and :mod:`specdistill.errors`.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from specdistill.errors import SpecdistillError

#: A line longer than this is refused before it is parsed.
MAX_LINE_BYTES = 4 * 1024 * 1024
#: A file larger than this is refused before it is read.
MAX_FILE_BYTES = 256 * 1024 * 1024


class LinesErrorType(Protocol):
    """The error a caller raises: a :class:`BadLines` subclass (``BenchmarkError``,
    ``TraceError``), or any one-line error built from the first problem (plans)."""

    def __call__(self, problems: list[str], *, path: Path | None = ...) -> SpecdistillError: ...


def line_problem(label: str, number: int, reason: str, *, field: str | None = None) -> str:
    """One problem line: ``<label> line <n>: [field '<field>': ]<reason>``."""
    where = f"{label} line {number}"
    return f"{where}: field {field!r}: {reason}" if field else f"{where}: {reason}"


def _open_regular(
    path: Path, *, what: str, error: LinesErrorType, missing_hint: str | None = None
) -> tuple[int, int]:
    """An open descriptor on ``path`` and its size; ``error`` unless a readable regular file."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        missing = error([f"{path}: no such {what}"], path=path)
        if missing_hint is not None:
            missing.hint = missing_hint
        raise missing from None
    except IsADirectoryError:
        raise error([f"{path}: not a regular file (a directory)"], path=path) from None
    except OSError as exc:
        raise error([f"{path}: cannot read ({exc})"], path=path) from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise error([f"{path}: cannot read ({exc})"], path=path) from None
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a special file"
        raise error([f"{path}: not a regular file ({kind})"], path=path)
    return fd, info.st_size


def read_head(path: Path, size: int, *, what: str, error: LinesErrorType) -> bytes:
    """The first ``size`` bytes of the regular file ``path`` (to tell formats apart)."""
    fd, _ = _open_regular(path, what=what, error=error)
    try:
        return os.read(fd, size)
    except OSError as exc:
        raise error([f"{path}: cannot read ({exc})"], path=path) from None
    finally:
        os.close(fd)


def read_text(
    path: Path,
    *,
    what: str,
    error: LinesErrorType,
    missing_hint: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``max_bytes`` long.

    Raises ``error`` with one problem naming the path: ``no such <what>`` (with
    ``missing_hint`` as its hint), not a regular file, too large, or cannot read.
    """
    fd, size = _open_regular(path, what=what, error=error, missing_hint=missing_hint)
    try:
        if size > max_bytes:
            raise error([f"{path}: larger than {max_bytes} B"], path=path)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)  # the file may grow after fstat
        if len(data) > max_bytes:
            raise error([f"{path}: larger than {max_bytes} B"], path=path)
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error([f"{path}: cannot read ({exc})"], path=path) from None
    finally:
        os.close(fd)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def json_objects(
    text: str, *, label: str, problems: list[str], max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of JSONL ``text``.

    A line that is too long, not JSON or not a JSON object is appended to ``problems``
    (as :func:`line_problem`) and skipped. Appending as it goes keeps ``problems`` in line
    order when the caller adds its own problems for the objects it is given.
    """
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        if len(line.encode("utf-8", "surrogatepass")) > max_line_bytes:
            problems.append(line_problem(label, number, f"longer than {max_line_bytes} B"))
            continue
        try:
            data = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            problems.append(line_problem(label, number, f"not JSON ({exc.msg})"))
            continue
        except ValueError as exc:
            problems.append(line_problem(label, number, f"not JSON ({exc})"))
            continue
        except RecursionError:
            problems.append(line_problem(label, number, "not JSON (nested too deeply)"))
            continue
        if not isinstance(data, dict):
            kind = type(data).__name__
            problems.append(line_problem(label, number, f"not a JSON object ({kind})"))
            continue
        yield number, data
