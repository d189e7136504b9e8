"""Where a home's traces are: the configured ``[specdistill.traces] path``, else an
OpenJarvis home's ``traces.db``; and the plan screen's lookup of trace query classes.

Shared by the session runner (the plan screen resolves OpenJarvis failure-cluster ids
through it) and the teacher's sessions, which is why it is a module of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from specdistill import openjarvis
from specdistill.checkpoint.run import Notify
from specdistill.errors import InvalidInput
from specdistill.evaluation.settings import config_section
from specdistill.home import SpecHome
from specdistill.screen import TraceLookup
from specdistill.teacher.settings import TRACES_KEYS
from specdistill.teacher.traces import load_traces


def openjarvis_traces(home: SpecHome) -> Path | None:
    """An OpenJarvis home's traces database (``[traces] db_path``, else ``traces.db``),
    if it has one."""
    return openjarvis.traces_db(home.root, openjarvis.read_config(home.root))


def traces_path(home: SpecHome) -> Path | None:
    """``[specdistill.traces] path`` (relative to the home), or None when unset."""
    value = config_section(home, "traces", TRACES_KEYS).get("path")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput("[specdistill.traces] path must be a file name")
    path = Path(value).expanduser()
    return path if path.is_absolute() else home.root / path


def default_traces(home: SpecHome, notify: Notify | None = None) -> Path | None:
    """The traces a command reads when no ``--traces`` is given (``run``, ``loop``,
    ``traces check``, ``benchmark build``): ``[specdistill.traces] path``, else the home's
    OpenJarvis traces database, which ``notify`` is told in one line; None when neither."""
    found = traces_path(home)
    if found is None:
        found = openjarvis_traces(home)
        if found is not None and notify is not None:
            notify(f"no --traces given: using the OpenJarvis traces database {found}")
    return found


def home_trace_classes(home: SpecHome, traces: Path | None = None) -> TraceLookup:
    """The plan screen's trace lookup (:data:`specdistill.screen.TraceLookup`): the query
    class of each asked-for trace in ``traces``, else the home's traces
    (:func:`default_traces`: an OpenJarvis ``traces.db`` gets classes derived from the
    query, as the readers do). Nothing is read until the screen asks; a trace source
    that cannot be read fails in one line as any command reading it would."""

    def lookup(ids: Sequence[str]) -> dict[str, str | None]:
        path = traces or default_traces(home)
        if path is None:
            return {}
        wanted = set(ids)
        return {t.id: t.query_class for t in load_traces(path) if t.id in wanted}

    return lookup
