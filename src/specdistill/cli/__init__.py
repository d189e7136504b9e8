"""The ``specdistill`` command: a thin typer layer over :mod:`specdistill.commands`.

* :mod:`~specdistill.cli.app` — the typer app, its consoles, shared options, error handling;
* :mod:`~specdistill.cli.render` — sessions and outcomes rendered with rich;
* :mod:`~specdistill.cli.progress` — notices and progress bars on stderr;
* one module per command group, each registering its commands on the app:
  :mod:`~specdistill.cli.spec` (init, schema, apply, log, rollback, recover),
  :mod:`~specdistill.cli.run` (run, loop, quickstart),
  :mod:`~specdistill.cli.sessions` (review, approve, reject, history, show, doctor),
  :mod:`~specdistill.cli.bench` (benchmark run, cache), :mod:`~specdistill.cli.teacher`
  (benchmark build, traces check), :mod:`~specdistill.cli.view` (view: the review page).

Each command parses its options, calls one :mod:`specdistill.commands` function,
imported when the command runs (so ``--help`` loads neither pydantic nor an HTTP
client), and renders the result. The modules that declare commands do not use
``from __future__ import annotations``: typer would ``eval`` every string annotation
on every start (``bench/cli_startup.py`` measures the start).
"""

# Importing a command group registers its commands on the app, in the order --help
# lists them: the spec's own commands first.
from specdistill.cli import spec  # noqa: F401

# isort: split
from specdistill.cli import bench, run, sessions, teacher, view  # noqa: F401
from specdistill.cli.app import app, main

__all__ = ["app", "main"]
